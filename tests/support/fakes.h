// Every fake used by unit tests lives here, in one place (as Envoy keeps test/mocks).
// Fakes stand in only for pure-logic tests; anything that talks to the kernel or a real
// peer is tested against the real thing.
#pragma once

#include <mutex>
#include <vector>

#include "observe/event_sink.h"

namespace ztdns::testing {

// Records every event, for asserting what a module reported.
class RecordingEventSink final : public observe::EventSink {
 public:
  void emit(observe::Event event) override {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  std::vector<observe::Event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<observe::Event> events_;
};

}  // namespace ztdns::testing
