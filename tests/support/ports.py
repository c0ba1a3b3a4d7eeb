"""A free TCP port on the loopback interface, for Python tests and benchmarks that start servers: chosen at random
below the kernel's ephemeral range, where outgoing connections never take their local ports (ports.h says why)."""
import random
import socket


def free_port():
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    while True:
        port = random.randint(10000, max(10001, low - 1))
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            pass
        finally:
            s.close()
