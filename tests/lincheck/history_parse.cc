// Readers and writers for the history formats the checker accepts.
#include <charconv>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/lincheck/history.h"

namespace raftkit::lincheck {
namespace {

// One name per kind and outcome, for descriptions and for the JSON-lines format alike.
constexpr const char* kKindNames[] = {"read", "write", "cas", "append"};
constexpr const char* kOutcomeNames[] = {"ok", "fail", "unknown"};
const char* kind_name(OpKind k) { return kKindNames[static_cast<int>(k)]; }
const char* outcome_name(Outcome o) { return kOutcomeNames[static_cast<int>(o)]; }

template <typename T, std::size_t N>
std::optional<T> from_name(const char* const (&names)[N], const std::string& name) {
  for (std::size_t i = 0; i < N; ++i) {
    if (name == names[i]) return static_cast<T>(i);
  }
  return std::nullopt;
}

Status parse_error(std::size_t line, const std::string& what) {
  return Status(ErrorCode::kInvalidArgument, "line " + std::to_string(line) + ": " + what);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// Pairs each invocation with the next completion by the same process; invocations never completed are unknown.
class Pairer {
 public:
  void invoke(int process, Operation op) { open_[process] = std::move(op); }
  Status complete(std::size_t line, int process, Outcome outcome, std::uint64_t time, std::optional<std::string> value,
                  bool has_value) {
    auto it = open_.find(process);
    if (it == open_.end()) return parse_error(line, "completion without invocation for process " + std::to_string(process));
    Operation op = std::move(it->second);
    open_.erase(it);
    op.outcome = outcome;
    op.complete = outcome == Outcome::kUnknown ? kNever : time;
    if (op.kind == OpKind::kRead && has_value) op.value = std::move(value);
    history_.operations.push_back(std::move(op));
    return Status::ok();
  }
  History finish(std::optional<std::string> initial) {
    for (auto& [process, op] : open_) {
      op.outcome = Outcome::kUnknown;
      op.complete = kNever;
      history_.operations.push_back(std::move(op));
    }
    open_.clear();
    history_.initial = std::move(initial);
    return std::move(history_);
  }

 private:
  std::map<int, Operation> open_;
  History history_;
};

std::optional<Outcome> outcome_of(const std::string& type) {
  if (type == ":ok") return Outcome::kOk;
  if (type == ":fail") return Outcome::kFail;
  if (type == ":info") return Outcome::kUnknown;
  return std::nullopt;
}

// EDN string or nil starting at pos; advances pos past it.
bool read_edn_value(const std::string& s, std::size_t& pos, std::optional<std::string>& out) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  if (s.compare(pos, 3, "nil") == 0) {
    pos += 3;
    out.reset();
    return true;
  }
  if (pos >= s.size() || s[pos] != '"') return false;
  std::string v;
  for (++pos; pos < s.size() && s[pos] != '"'; ++pos) {
    if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
    v.push_back(s[pos]);
  }
  if (pos >= s.size()) return false;
  ++pos;
  out = std::move(v);
  return true;
}

// A whole decimal number in [lo, hi], or nothing (no exceptions: the text comes from other tools).
template <typename T>
std::optional<T> parse_number(const std::string& text, T lo = std::numeric_limits<T>::min(),
                              T hi = std::numeric_limits<T>::max()) {
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

// A JSON integer field that fits T (a float, a string or an out-of-range number is refused, never converted).
template <typename T>
std::optional<T> json_integer(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    return static_cast<T>(v);
  }
  const auto v = it->get<std::int64_t>();
  if (v < 0 && !std::numeric_limits<T>::is_signed) return std::nullopt;
  if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
      (v > 0 && static_cast<std::uint64_t>(v) > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))) {
    return std::nullopt;
  }
  return static_cast<T>(v);
}

// Keys and values are the clients' bytes: JSON cannot hold invalid UTF-8, so such bytes are written as U+FFFD.
std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

std::string edn_field(const std::string& line, const std::string& name) {
  const auto at = line.find(name + " ");
  if (at == std::string::npos) return "";
  const auto start = at + name.size() + 1;
  const auto stop = line.find_first_of(",}", start);
  return trim(line.substr(start, stop - start));
}

}  // namespace

std::string describe(const Operation& op) {
  std::string s = "client " + std::to_string(op.client) + " " + kind_name(op.kind) + "(" + op.key;
  if (op.expected) s += ", " + *op.expected;
  s += op.value ? ", " + *op.value : std::string(", nil");
  s += ") " + std::string(outcome_name(op.outcome)) + " @[" + std::to_string(op.invoke) + ", " +
       (op.complete == kNever ? std::string("never") : std::to_string(op.complete)) + "]";
  return s;
}

Result<History> parse_jepsen_log(const std::string& text) {
  std::istringstream in(text);
  std::string raw;
  Pairer pairer;
  std::size_t line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const auto dash = raw.find(" - ");
    if (trim(raw).empty()) continue;
    if (dash == std::string::npos) return parse_error(line_no, "not a Jepsen log line");
    std::istringstream fields(raw.substr(dash + 3));
    int process = 0;
    std::string type, f;
    if (!(fields >> process >> type >> f)) return parse_error(line_no, "expected <process> <type> <f> <value>");
    std::string value;
    std::getline(fields, value);
    value = trim(value);
    if (type == ":invoke") {
      Operation op;
      op.client = process;
      op.key = "register";
      op.invoke = line_no;
      if (f == ":read") {
        op.kind = OpKind::kRead;
      } else if (f == ":write") {
        op.kind = OpKind::kWrite;
        op.value = value;
      } else if (f == ":cas") {
        op.kind = OpKind::kCas;
        std::istringstream pair(value.size() > 2 ? value.substr(1, value.size() - 2) : "");
        std::string from, to;
        if (value.empty() || value.front() != '[' || !(pair >> from >> to)) return parse_error(line_no, "cas value must be [from to]");
        op.expected = from;
        op.value = to;
      } else {
        return parse_error(line_no, "unknown operation " + f);
      }
      pairer.invoke(process, std::move(op));
      continue;
    }
    std::optional<Outcome> outcome = outcome_of(type);
    if (!outcome) return parse_error(line_no, "unknown event type " + type);
    // A failed read (:timed-out) did not return a value we can trust: its outcome is unknown.
    if (f == ":read" && *outcome == Outcome::kFail) outcome = Outcome::kUnknown;
    std::optional<std::string> read_value;
    if (value != "nil") read_value = value;
    if (Status s = pairer.complete(line_no, process, *outcome, line_no, read_value, f == ":read"); !s.is_ok()) return s;
  }
  return pairer.finish(std::nullopt);
}

Result<History> parse_edn_kv(const std::string& text) {
  std::istringstream in(text);
  std::string raw;
  Pairer pairer;
  std::size_t line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = trim(raw);
    if (line.empty()) continue;
    if (line.front() != '{') return parse_error(line_no, "expected an EDN map");
    const std::string process_text = edn_field(line, ":process");
    const std::string type = edn_field(line, ":type");
    const std::string f = edn_field(line, ":f");
    std::optional<std::string> key, value;
    std::size_t pos = line.find(":key ");
    if (process_text.empty() || pos == std::string::npos) return parse_error(line_no, "missing :process or :key");
    pos += 5;
    if (!read_edn_value(line, pos, key) || !key) return parse_error(line_no, "bad :key");
    pos = line.find(":value ");
    if (pos == std::string::npos) return parse_error(line_no, "missing :value");
    pos += 7;
    if (!read_edn_value(line, pos, value)) return parse_error(line_no, "bad :value");
    const std::optional<int> process_number = parse_number<int>(process_text);
    if (!process_number) return parse_error(line_no, "bad :process " + process_text);
    const int process = *process_number;
    if (type == ":invoke") {
      Operation op;
      op.client = process;
      op.key = *key;
      op.invoke = line_no;
      if (f == ":get") {
        op.kind = OpKind::kRead;
      } else if (f == ":put") {
        op.kind = OpKind::kWrite;
        op.value = value;
      } else if (f == ":append") {
        op.kind = OpKind::kAppend;
        op.value = value;
      } else {
        return parse_error(line_no, "unknown operation " + f);
      }
      pairer.invoke(process, std::move(op));
      continue;
    }
    std::optional<Outcome> outcome = outcome_of(type);
    if (!outcome) return parse_error(line_no, "unknown event type " + type);
    if (Status s = pairer.complete(line_no, process, *outcome, line_no, value, f == ":get"); !s.is_ok()) return s;
  }
  return pairer.finish(std::string());
}


std::string to_json_lines(const History& h) {
  std::string out;
  nlohmann::json header = {{"initial", h.initial ? nlohmann::json(*h.initial) : nlohmann::json(nullptr)}};
  out += dump(header) + "\n";
  for (const Operation& op : h.operations) {
    nlohmann::json j = {{"client", op.client}, {"key", op.key}, {"f", kind_name(op.kind)},
                        {"outcome", outcome_name(op.outcome)}, {"invoke", op.invoke}};
    j["value"] = op.value ? nlohmann::json(*op.value) : nlohmann::json(nullptr);
    if (op.expected) j["expected"] = *op.expected;
    if (op.complete != kNever) j["complete"] = op.complete;
    out += dump(j) + "\n";
  }
  return out;
}

Result<History> parse_json_lines(const std::string& text) {
  std::istringstream in(text);
  std::string raw;
  History h;
  std::size_t line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    if (trim(raw).empty()) continue;
    nlohmann::json j = nlohmann::json::parse(raw, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return parse_error(line_no, "not a JSON object");
    try {
      if (j.contains("initial")) {
        h.initial = j["initial"].is_null() ? std::nullopt : std::optional<std::string>(j["initial"].get<std::string>());
        continue;
      }
      Operation op;
      const std::optional<int> client = json_integer<int>(j, "client");
      const std::optional<std::uint64_t> invoke = json_integer<std::uint64_t>(j, "invoke");
      const std::optional<std::uint64_t> complete = json_integer<std::uint64_t>(j, "complete");
      if (!client || !invoke || (j.contains("complete") && !complete)) {
        return parse_error(line_no, "client, invoke and complete must be integers in range");
      }
      op.client = *client;
      op.key = j.at("key").get<std::string>();
      const std::string f = j.at("f").get<std::string>();
      const std::string outcome = j.at("outcome").get<std::string>();
      const std::optional<OpKind> kind = from_name<OpKind>(kKindNames, f);
      const std::optional<Outcome> result = from_name<Outcome>(kOutcomeNames, outcome);
      if (!kind) return parse_error(line_no, "unknown f " + f);
      if (!result) return parse_error(line_no, "unknown outcome " + outcome);
      op.kind = *kind;
      op.outcome = *result;
      if (!j.at("value").is_null()) op.value = j["value"].get<std::string>();
      if (j.contains("expected")) op.expected = j["expected"].get<std::string>();
      op.invoke = *invoke;
      op.complete = complete.value_or(kNever);
      h.operations.push_back(std::move(op));
    } catch (const nlohmann::json::exception& e) {
      return parse_error(line_no, e.what());
    }
  }
  return h;
}

Result<History> parse_history(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line) && trim(line).empty()) {
  }
  line = trim(line);
  if (line.rfind("{\"", 0) == 0) return parse_json_lines(text);
  if (line.rfind("{", 0) == 0) return parse_edn_kv(text);
  return parse_jepsen_log(text);
}

}  // namespace raftkit::lincheck
