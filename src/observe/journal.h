// journald output: every event also goes to the journal when journald runs, with its
// fields as journal fields, so `journalctl SYSLOG_IDENTIFIER=ztdns ZTDNS_CHANNEL=...`
// filters by channel.
//
// Mapping: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=ztdns, ZTDNS_CHANNEL, ZTDNS_EVENT_ID,
// ZTDNS_ACTION, and every field as ZTDNS_<FIELD> with camelCase turned into UPPER_SNAKE
// (srcPort -> ZTDNS_SRC_PORT); nested objects join with '_' (reason.type ->
// ZTDNS_REASON_TYPE); arrays are written as JSON; nulls are left out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "observe/channels.h"
#include "observe/event_sink.h"

namespace ztdns::observe {

inline constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

// "srcPort" -> "SRC_PORT"; anything outside [A-Z0-9_] becomes '_'.
std::string journalFieldName(std::string_view camel);

// The "KEY=value" entries for one event, in a stable order (pure; unit-tested).
std::vector<std::string> journalFields(const Event& event);

// Sends through sd_journal_sendv; returns 0 or a negative errno.
int sendToJournal(const std::vector<std::string>& fields);

}  // namespace ztdns::observe
