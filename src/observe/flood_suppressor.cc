#include "observe/flood_suppressor.h"

#include <algorithm>

#include "observe/packet.h"

namespace ztdns::observe {

FloodSuppressor::FloodSuppressor(unsigned eventsPerSecond, size_t maxKeys)
    : rate_(eventsPerSecond), tokens_(eventsPerSecond), maxKeys_(maxKeys) {}

void FloodSuppressor::setRate(unsigned eventsPerSecond) {
  rate_ = eventsPerSecond;
  tokens_ = std::min(tokens_, rate_);
}

void FloodSuppressor::count(Row& row, const ConnectionEvent& e) {
  auto& s = row.summary;
  if (s.count == 0) {
    s.first = e.time;
    s.protocol = protocolName(e.protocol);
  }
  ++s.count;
  s.last = std::max(s.last, e.time);
  if (e.dstPort && row.ports.size() < kMaxPorts) row.ports.insert(*e.dstPort);
}

bool FloodSuppressor::admit(const ConnectionEvent& e, Clock::time_point now) {
  if (last_ != Clock::time_point{}) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(rate_, tokens_ + std::max(0.0, elapsed) * rate_);
  }
  last_ = now;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  ++suppressedTotal_;
  std::string process = e.process.executable.empty() ? "unknown" : e.process.executable;
  std::string dst = e.dst.toString();
  std::string key = std::string(actionName(e.action)) + '\n' + process + '\n' + dst;
  auto it = table_.find(key);
  if (it == table_.end() && table_.size() >= maxKeys_) {
    if (!overflow_) {
      overflow_.emplace();
      overflow_->summary.action = "*";
      overflow_->summary.process = "*";
      overflow_->summary.dst = "*";
      overflow_->summary.overflow = true;
    }
    count(*overflow_, e);
    return false;
  }
  if (it == table_.end()) {
    Row row;
    row.summary.action = actionName(e.action);
    row.summary.process = process;
    row.summary.dst = dst;
    it = table_.emplace(std::move(key), std::move(row)).first;
  }
  count(it->second, e);
  return false;
}

std::vector<SuppressedSummary> FloodSuppressor::flush(size_t maxRows) {
  std::vector<Row> rows;
  rows.reserve(table_.size());
  for (auto& [key, row] : table_) rows.push_back(std::move(row));
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.summary.count > b.summary.count; });
  // Rows past the limit fold into the catch-all row, so totals stay exact.
  size_t keep = maxRows == 0 ? 0 : maxRows - 1;
  if (rows.size() > keep + (overflow_ ? 0 : 1)) {
    if (!overflow_) {
      overflow_.emplace();
      overflow_->summary.action = "*";
      overflow_->summary.process = "*";
      overflow_->summary.dst = "*";
      overflow_->summary.overflow = true;
    }
    for (size_t i = keep; i < rows.size(); ++i) {
      auto& o = overflow_->summary;
      const auto& r = rows[i].summary;
      if (o.count == 0 || r.first < o.first) o.first = r.first;
      o.last = std::max(o.last, r.last);
      if (o.protocol.empty()) o.protocol = r.protocol;
      o.count += r.count;
      for (auto p : rows[i].ports) {
        if (overflow_->ports.size() < kMaxPorts) overflow_->ports.insert(p);
      }
    }
    rows.resize(keep);
  }
  std::vector<SuppressedSummary> out;
  out.reserve(rows.size() + 1);
  for (auto& row : rows) {
    row.summary.dstPorts.assign(row.ports.begin(), row.ports.end());
    out.push_back(std::move(row.summary));
  }
  if (overflow_) {
    overflow_->summary.dstPorts.assign(overflow_->ports.begin(), overflow_->ports.end());
    out.push_back(std::move(overflow_->summary));
  }
  table_.clear();
  overflow_.reset();
  return out;
}

}  // namespace ztdns::observe
