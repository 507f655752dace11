#include "metrics/metrics.hpp"

#include <algorithm>
#include <stdexcept>

#include "metrics/exposition.hpp"

namespace registrar::metrics {

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double v) {
  const std::size_t bucket = static_cast<std::size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  std::lock_guard lock(mutex_);
  ++counts_[bucket];
  sum_ += v;
  ++count_;
}

Histogram::Snapshot Histogram::snapshot() const {
  std::lock_guard lock(mutex_);
  Snapshot s;
  s.upper_bounds = bounds_;
  std::uint64_t running = 0;
  for (std::uint64_t c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

template <class Series>
Series& Family<Series>::with(const Labels& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument("metric " + name_ + ": expected " +
                                std::to_string(label_names_.size()) + " label value(s), got " +
                                std::to_string(values.size()));
  }
  std::lock_guard lock(mutex_);
  auto it = series_.find(values);
  if (it == series_.end()) {
    std::unique_ptr<Series> s;
    if constexpr (std::is_same_v<Series, Histogram>) {
      s = std::make_unique<Histogram>(buckets_);
    } else {
      s = std::make_unique<Series>();
    }
    it = series_.emplace(values, std::move(s)).first;
  }
  return *it->second;
}

template <class Series>
std::vector<std::pair<Labels, const Series*>> Family<Series>::series() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<Labels, const Series*>> out;
  out.reserve(series_.size());
  for (const auto& [labels, s] : series_) out.emplace_back(labels, s.get());
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void Registry::check_new(const std::string& name, const std::vector<std::string>& label_names,
                         Type type) const {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const auto& l : label_names) {
    if (!valid_label_name(l) || (type == Type::Histogram && l == "le")) {
      throw std::invalid_argument("metric " + name + ": invalid label name: " + l);
    }
  }
  for (const Entry& e : entries_) {
    const std::string& existing = e.counter ? e.counter->name()
                                  : e.gauge ? e.gauge->name()
                                            : e.histogram->name();
    if (existing == name) throw std::invalid_argument("metric registered twice: " + name);
  }
}

CounterFamily& Registry::counter(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  check_new(name, label_names, Type::Counter);
  Entry e{Type::Counter, std::make_unique<CounterFamily>(name, help, std::move(label_names)),
          nullptr, nullptr};
  entries_.push_back(std::move(e));
  return *entries_.back().counter;
}

GaugeFamily& Registry::gauge(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  check_new(name, label_names, Type::Gauge);
  Entry e{Type::Gauge, nullptr, std::make_unique<GaugeFamily>(name, help, std::move(label_names)),
          nullptr};
  entries_.push_back(std::move(e));
  return *entries_.back().gauge;
}

HistogramFamily& Registry::histogram(const std::string& name, const std::string& help,
                                     std::vector<double> upper_bounds,
                                     std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  check_new(name, label_names, Type::Histogram);
  Entry e{Type::Histogram, nullptr, nullptr,
          std::make_unique<HistogramFamily>(name, help, std::move(label_names),
                                            std::move(upper_bounds))};
  entries_.push_back(std::move(e));
  return *entries_.back().histogram;
}

namespace {

template <class F>
void header(std::string& out, const F& family, const char* type) {
  out += "# HELP " + family.name() + " " + escape_help(family.help()) + "\n";
  out += "# TYPE " + family.name() + " " + type + "\n";
}

template <class F>
void simple(std::string& out, const F& family, const char* type) {
  header(out, family, type);
  for (const auto& [labels, s] : family.series()) {
    out += family.name() + format_labels(family.label_names(), labels) + " " +
           format_value(s->value()) + "\n";
  }
}

void histogram_lines(std::string& out, const HistogramFamily& family) {
  header(out, family, "histogram");
  for (const auto& [labels, h] : family.series()) {
    const Histogram::Snapshot s = h->snapshot();
    for (std::size_t i = 0; i < s.cumulative.size(); ++i) {
      const std::string le =
          i < s.upper_bounds.size() ? format_value(s.upper_bounds[i]) : std::string("+Inf");
      out += family.name() + "_bucket" + format_labels(family.label_names(), labels, "le", le) +
             " " + std::to_string(s.cumulative[i]) + "\n";
    }
    const std::string l = format_labels(family.label_names(), labels);
    out += family.name() + "_sum" + l + " " + format_value(s.sum) + "\n";
    out += family.name() + "_count" + l + " " + std::to_string(s.count) + "\n";
  }
}

}  // namespace

std::string Registry::expose() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const Entry& e : entries_) {
    switch (e.type) {
      case Type::Counter:
        simple(out, *e.counter, "counter");
        break;
      case Type::Gauge:
        simple(out, *e.gauge, "gauge");
        break;
      case Type::Histogram:
        histogram_lines(out, *e.histogram);
        break;
    }
  }
  return out;
}

}  // namespace registrar::metrics
