// A strict reader of the Prometheus text exposition format (0.0.4), for tests: promtool is not in Debian. It fails,
// naming the line, on anything a Prometheus server would reject or a reader could misread: a malformed name, label
// or value; an escape other than \\ \" \n; a family's samples before its TYPE or split around another family's; a
// second HELP or TYPE; a sample whose name does not belong to its family; a repeated series; a counter not named
// *_total; a histogram whose buckets are not increasing in `le` and non-decreasing in count, or lack +Inf, _sum or
// _count, or whose +Inf bucket differs from _count; a blank line; text not ending in a newline.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace raftkit::testing {

class PrometheusText {
 public:
  using Labels = std::map<std::string, std::string>;

  // The parsed page, or the first violation in `error`.
  static std::optional<PrometheusText> parse(const std::string& text, std::string& error) {
    PrometheusText page;
    if (!text.empty() && text.back() != '\n') return fail(error, 0, "text does not end in a newline");
    std::istringstream in(text);
    std::string line;
    int number = 0;
    std::string current;  // the family whose samples come now
    std::set<std::string> finished;
    while (std::getline(in, line)) {
      ++number;
      if (line.empty()) return fail(error, number, "blank line");
      if (line[0] == '#') {
        std::smatch m;
        static const std::regex kMeta(R"(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
        if (!std::regex_match(line, m, kMeta)) {
          if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) return fail(error, number, "malformed " + line);
          continue;  // another comment
        }
        const std::string name = m[2];
        if (name != current) {
          if (finished.count(name)) return fail(error, number, name + " appears in two places");
          if (!current.empty()) finished.insert(current);
          current = name;
        }
        Family& f = page.families_[name];
        if (m[1] == "HELP") {
          if (f.has_help) return fail(error, number, "second HELP for " + name);
          if (!valid_help(m[3])) return fail(error, number, "bad escape in HELP of " + name);
          f.has_help = true;
        } else {
          if (!f.type.empty()) return fail(error, number, "second TYPE for " + name);
          if (f.samples > 0) return fail(error, number, "TYPE of " + name + " after its samples");
          static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
          if (!kTypes.count(m[3])) return fail(error, number, "unknown type " + std::string(m[3]));
          f.type = m[3];
          if (f.type == "counter" && !ends_with(name, "_total")) {
            return fail(error, number, "counter " + name + " not named *_total");
          }
        }
        continue;
      }
      std::string name, why;
      Labels labels;
      double value = 0;
      if (!parse_sample(line, name, labels, value, why)) return fail(error, number, why);
      const std::string family = family_of(page, name);
      if (family.empty()) return fail(error, number, name + " has no TYPE before it");
      if (family != current) return fail(error, number, name + " is not beside the rest of " + family);
      Family& f = page.families_[family];
      ++f.samples;
      const std::string key = series_key(name, labels);
      if (page.values_.count(key)) return fail(error, number, "repeated series " + key);
      page.values_[key] = value;
      if (f.type == "histogram") {
        Labels group = labels;
        group.erase("le");
        Histogram& h = f.histograms[series_key(family, group)];
        if (name == family + "_bucket") {
          if (!labels.count("le")) return fail(error, number, "bucket without le");
          const double le = to_double(labels["le"]);
          if (std::isnan(le) || (!h.les.empty() && le <= h.les.back())) return fail(error, number, "le not increasing");
          if (!h.counts.empty() && value < h.counts.back()) return fail(error, number, "bucket counts decrease");
          h.les.push_back(le);
          h.counts.push_back(value);
        } else if (name == family + "_sum") {
          h.sum = true;
        } else if (name == family + "_count") {
          h.count = value;
        } else {
          return fail(error, number, name + " is not a sample name of histogram " + family);
        }
      }
    }
    for (const auto& [name, f] : page.families_) {
      if (f.type.empty()) return fail(error, 0, name + " has HELP but no TYPE");
      for (const auto& [series, h] : f.histograms) {
        if (h.les.empty() || !std::isinf(h.les.back())) return fail(error, 0, series + " has no +Inf bucket");
        if (!h.sum || !h.count) return fail(error, 0, series + " lacks _sum or _count");
        if (*h.count != h.counts.back()) return fail(error, 0, series + ": +Inf bucket differs from _count");
      }
    }
    return page;
  }

  // A sample's value (NaN if absent).
  double value(const std::string& name, const Labels& labels = {}) const {
    auto it = values_.find(series_key(name, labels));
    return it == values_.end() ? std::nan("") : it->second;
  }
  std::string type(const std::string& family) const {
    auto it = families_.find(family);
    return it == families_.end() ? "" : it->second.type;
  }
  std::size_t series() const { return values_.size(); }

 private:
  struct Histogram {
    std::vector<double> les, counts;
    bool sum = false;
    std::optional<double> count;
  };
  struct Family {
    std::string type;
    bool has_help = false;
    int samples = 0;
    std::map<std::string, Histogram> histograms;
  };

  static std::optional<PrometheusText> fail(std::string& error, int line, const std::string& why) {
    error = (line > 0 ? "line " + std::to_string(line) + ": " : "") + why;
    return std::nullopt;
  }
  static bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
  }
  static bool valid_help(const std::string& s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && (i + 1 == s.size() || (s[i + 1] != '\\' && s[i + 1] != 'n'))) return false;
      if (s[i] == '\\') ++i;
    }
    return true;
  }
  static double to_double(const std::string& s) {
    if (s == "+Inf") return INFINITY;
    if (s == "-Inf") return -INFINITY;
    if (s == "NaN") return std::nan("");
    static const std::regex kFloat(R"([-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)");
    if (!std::regex_match(s, kFloat)) return std::nan("x");
    return std::strtod(s.c_str(), nullptr);
  }
  static bool parse_sample(const std::string& line, std::string& name, Labels& labels, double& value,
                           std::string& why) {
    static const std::regex kName(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*)");
    std::smatch m;
    if (!std::regex_search(line, m, kName)) return (why = "malformed sample: " + line, false);
    name = m[0];
    std::size_t at = name.size();
    if (at < line.size() && line[at] == '{') {
      ++at;
      while (at < line.size() && line[at] != '}') {
        static const std::regex kLabel(R"(^([a-zA-Z_][a-zA-Z0-9_]*)=")");
        const std::string rest = line.substr(at);
        if (!std::regex_search(rest, m, kLabel)) return (why = "malformed label in: " + line, false);
        const std::string label = m[1];
        if (label.rfind("__", 0) == 0) return (why = "reserved label name " + label, false);
        at += m[0].length();
        std::string v;
        while (at < line.size() && line[at] != '"') {
          if (line[at] == '\\') {
            if (at + 1 >= line.size()) return (why = "unfinished escape in: " + line, false);
            const char e = line[at + 1];
            if (e != '\\' && e != '"' && e != 'n') return (why = "bad escape in: " + line, false);
            v += e == 'n' ? '\n' : e;
            at += 2;
          } else {
            v += line[at++];
          }
        }
        if (at >= line.size()) return (why = "unterminated label value in: " + line, false);
        ++at;  // the closing quote
        if (!labels.emplace(label, v).second) return (why = "repeated label " + label, false);
        if (at < line.size() && line[at] == ',') {
          ++at;
        } else if (at < line.size() && line[at] != '}') {
          return (why = "labels not separated by commas in: " + line, false);
        }
      }
      if (at >= line.size()) return (why = "unterminated label set in: " + line, false);
      ++at;  // '}'
    }
    if (at >= line.size() || line[at] != ' ') return (why = "no value in: " + line, false);
    std::istringstream rest(line.substr(at + 1));
    std::string text, timestamp, extra;
    rest >> text >> timestamp >> extra;
    if (!extra.empty()) return (why = "trailing text in: " + line, false);
    if (!timestamp.empty() && !std::regex_match(timestamp, std::regex(R"(-?[0-9]+)"))) {
      return (why = "bad timestamp in: " + line, false);
    }
    value = to_double(text);
    if (std::isnan(value) && text != "NaN") return (why = "bad value in: " + line, false);
    return true;
  }
  static std::string family_of(const PrometheusText& page, const std::string& name) {
    if (page.families_.count(name) && !page.families_.at(name).type.empty()) return name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (!ends_with(name, suffix)) continue;
      const std::string base = name.substr(0, name.size() - std::string(suffix).size());
      auto it = page.families_.find(base);
      if (it != page.families_.end() && (it->second.type == "histogram" || it->second.type == "summary")) return base;
    }
    return "";
  }
  static std::string series_key(const std::string& name, const Labels& labels) {
    std::string key = name + "{";
    for (const auto& [k, v] : labels) key += k + "=" + v + ",";
    return key + "}";
  }

  std::map<std::string, Family> families_;
  std::map<std::string, double> values_;
};

}  // namespace raftkit::testing
