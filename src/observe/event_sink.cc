#include "observe/event_sink.h"

#include <cstdio>

namespace ztdns::observe {

void StderrEventSink::emit(Event event) {
  std::fprintf(stderr, "ztdnsd: %s %s\n", event.action.c_str(), event.message.c_str());
}

}  // namespace ztdns::observe
