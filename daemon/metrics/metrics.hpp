// A small in-process metrics registry: counters, gauges and histograms with labels, and their
// Prometheus text exposition (format 0.0.4). Families and series are created once and never
// removed; values are atomics, so updating a series takes no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace registrar::metrics {

using Labels = std::vector<std::string>;  // label values, in the family's label-name order

class Counter {
 public:
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v);

  struct Snapshot {
    std::vector<double> upper_bounds;       // ascending, +Inf implied after the last
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (size = bounds + 1)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative), last one is +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

enum class Type { Counter, Gauge, Histogram };

// One metric name with its help text and label names; its series are keyed by label values.
template <class Series>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> buckets = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        buckets_(std::move(buckets)) {}

  // The series for these label values (created on first use). `values` must have one entry per
  // label name; a mismatch throws std::invalid_argument (a programming error).
  Series& with(const Labels& values = {});

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // A copy of the series map's keys with pointers to the series (stable: never removed).
  std::vector<std::pair<Labels, const Series*>> series() const;

 private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> buckets_;
  mutable std::mutex mutex_;
  std::map<Labels, std::unique_ptr<Series>> series_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class Registry {
 public:
  // Each name may be registered once; a second registration of the same name throws
  // std::invalid_argument. Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
  // [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__", and not "le" on histograms).
  CounterFamily& counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<double> upper_bounds,
                             std::vector<std::string> label_names = {});

  // The Prometheus text exposition of every family, in registration order.
  std::string expose() const;

 private:
  struct Entry {
    Type type;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<GaugeFamily> gauge;
    std::unique_ptr<HistogramFamily> histogram;
  };
  void check_new(const std::string& name, const std::vector<std::string>& label_names,
                 Type type) const;

  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

// Content-Type of Registry::expose()'s output.
inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace registrar::metrics
