"""Compiler options for raftkit's own code: the same warnings-as-errors set as CMake's raftkit_warnings()."""

RAFTKIT_COPTS = [
    "-Wall",
    "-Wextra",
    "-Wpedantic",
    "-Wshadow",
    "-Wnon-virtual-dtor",
    "-Wold-style-cast",
    "-Wcast-align",
    "-Wunused",
    "-Woverloaded-virtual",
    # aggregates rely on default member initializers for omitted fields
    "-Wno-missing-field-initializers",
    "-Werror",
]
