// changeEvents: the Operational events that describe a configuration change, whoever made
// it (a control-socket change, a SIGHUP reload). Pure: the daemon emits what it returns
// once the change is in force.
#pragma once

#include <vector>

#include "config/config.h"
#include "observe/event_sink.h"
#include "observe/operational_events.h"

namespace ztdns::daemon {

// One event per kind of difference, in a stable order: state (6), servers (3), exceptions
// removed (4) and added (5), then one "config updated" (105) naming the other keys that
// changed. Nothing when the configs are equal.
std::vector<observe::Event> changeEvents(const config::Config& before, const config::Config& after,
                                         const observe::ops::Actor& by);

// "pdns1 198.51.100.53 DoT:853 DoH:443 priority 1": how servers appear in event 3.
std::string serverSummary(const config::SecureDnsServer& server);

}  // namespace ztdns::daemon
