// Config edits: what each control change does to the configuration, as pure functions.
//
// Each takes the running config and the request's params and returns the config after the
// change, or the error the client gets (control::conflict / notFound / invalidParams), in
// words that name what is wrong. The result has passed config::validate(), so the daemon
// only has to apply it. Nothing here touches the kernel, the disk or the data plane: the
// daemon's commit sequence does (daemon.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "config/config.h"
#include "control/messages.h"

namespace ztdns::daemon {

// What an edit produced besides the new config.
struct Edited {
  config::Config config;
  std::vector<std::string> warnings;  // e.g. host bits cleared in an exception prefix
  // What the client is told besides the result: config warnings the edit brought in (a DoH
  // template port that differs from port=) and problems the config had already.
  std::vector<std::string> replyWarnings;
};

// enable; audit absent keeps the current audit flag (so the first enable is audit mode).
Result<Edited> editSetState(const config::Config& current, const control::SetStateParams& p);

// A new address adds a server; an existing one gains the transport it lacks (a transport it
// has already is a conflict; so are a name= or priority= other than the server's).
Result<Edited> editAddServer(const config::Config& current, const control::AddServerParams& p);

// One server by address, or every server. Leaving none while enabled is a conflict.
Result<Edited> editDeleteServer(const config::Config& current, const control::DeleteServerParams& p,
                                std::vector<IpAddress>& deleted);

Result<Edited> editAddException(const config::Config& current,
                                const control::AddExceptionParams& p);
Result<Edited> editDeleteException(const config::Config& current,
                                   const control::DeleteExceptionParams& p);

Result<Edited> editAddTrustedCa(const config::Config& current, const control::TrustedCaParams& p);
Result<Edited> editDeleteTrustedCa(const config::Config& current,
                                   const control::TrustedCaParams& p);
Result<Edited> editAddClientCert(const config::Config& current,
                                 const control::AddClientCertParams& p);
Result<Edited> editDeleteClientCert(const config::Config& current);

Result<Edited> editLogSet(const config::Config& current, const control::LogSetParams& p);

// The part of the config an edit wrote (a field path such as "secureDnsServers[2]"; empty
// for none) and the request's names for its fields, keyed by the path below it with indexes
// dropped ("" for the part itself, ".ipAddress", ".ipAddresses", ...).
struct EditedPart {
  std::string path;
  std::vector<std::pair<std::string, std::string>> arguments;
};

// validate() for an edited config. Errors about the edited part name the request's argument
// instead of the field path ("address: 0.0.0.0 is not a unicast address a server can have")
// and are invalid-params: the value the user gave is bad. Errors about the rest of the
// config keep their field paths and are failed: the config the change would produce is
// unusable for a reason outside the request (a CA file that became unreadable, say).
// Every error, joined into one line; an error about a file names the CLI command that takes
// it out of the config. With `current` and `warnings`: errors that `current` has already
// (identical text) do not fail the edit and go to `warnings` instead, so that a file gone
// missing since the config was loaded locks out no change; and so do the validation
// warnings that `current` did not have.
Status checkEdited(const config::Config& edited, const EditedPart& part = {},
                   const config::Config* current = nullptr,
                   std::vector<std::string>* warnings = nullptr);

}  // namespace ztdns::daemon
