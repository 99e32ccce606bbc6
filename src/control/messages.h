// Typed params and results of every control method. The codec (codec.h) turns them into
// JSON and back with strict validation; docs/control-protocol.md gives the JSON schema.
//
// Conventions: addresses are IpAddress/IpPrefix (text on the wire), times are RFC 3339 UTC
// strings, durations are seconds, round-trip times are milliseconds (double).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/health.h"
#include "common/ip.h"

namespace ztdns::control {

enum class Protocol { kDoT, kDoH };
const char* protocolName(Protocol p);  // "DoT" / "DoH"

// A transport's health: unknown until the daemon has exchanged anything with it.
using ztdns::Health;
using ztdns::healthName;

enum class LogChannel { kBlocked, kPermitted, kOperational };
const char* logChannelName(LogChannel c);  // "blocked" / "permitted" / "operational"

// ---- params ---------------------------------------------------------------------------

struct EmptyParams {
  friend bool operator==(const EmptyParams&, const EmptyParams&) = default;
};

struct ShowServerParams {
  std::optional<IpAddress> address;  // only this server; absent -> not-found
  friend bool operator==(const ShowServerParams&, const ShowServerParams&) = default;
};

struct ShowExceptionParams {
  std::optional<std::string> name;  // only this exception; absent -> not-found
  friend bool operator==(const ShowExceptionParams&, const ShowExceptionParams&) = default;
};

struct SetStateParams {
  bool enable = false;
  std::optional<bool> audit;  // absent: keep the current audit flag
  friend bool operator==(const SetStateParams&, const SetStateParams&) = default;
};

struct AddServerParams {
  Protocol type = Protocol::kDoT;
  IpAddress address;
  uint16_t port = 853;              // decoded default: 853 (DoT) / 443 (DoH)
  std::string hostname;             // DoT: certificateSubjectName (required for DoT)
  std::string templateUrl;          // DoH: queryUrl, https://... (required for DoH)
  std::optional<int> priority;      // 1..1000; absent: keep (existing) or 100 (new)
  std::optional<std::string> name;  // displayName; absent: keep (existing) or the address
  friend bool operator==(const AddServerParams&, const AddServerParams&) = default;
};

struct DeleteServerParams {
  std::optional<IpAddress> address;  // absent: delete every server (netsh semantics)
  friend bool operator==(const DeleteServerParams&, const DeleteServerParams&) = default;
};

struct AddExceptionParams {
  std::string name;
  std::string description;
  std::vector<IpPrefix> subnets;  // 1..500, as given (the config normalises host bits)
  friend bool operator==(const AddExceptionParams&, const AddExceptionParams&) = default;
};

struct DeleteExceptionParams {
  std::string name;
  friend bool operator==(const DeleteExceptionParams&, const DeleteExceptionParams&) = default;
};

struct TrustedCaParams {
  std::string file;  // absolute path of a PEM file
  friend bool operator==(const TrustedCaParams&, const TrustedCaParams&) = default;
};

struct AddClientCertParams {
  std::string certFile;  // absolute paths
  std::string keyFile;
  friend bool operator==(const AddClientCertParams&, const AddClientCertParams&) = default;
};

struct LogShowParams {
  LogChannel channel = LogChannel::kBlocked;
  std::optional<uint64_t> sinceSeconds;  // only events newer than now - since
  std::optional<std::string> process;    // executable path, its basename, or the unit
  std::optional<IpPrefix> dst;           // destination inside this prefix
  uint32_t limit = 1000;                 // the newest `limit` matching events (1..1000000)
  friend bool operator==(const LogShowParams&, const LogShowParams&) = default;
};

struct LogSetParams {
  LogChannel channel = LogChannel::kPermitted;  // only "permitted" can be switched
  bool enable = false;
  friend bool operator==(const LogSetParams&, const LogSetParams&) = default;
};

struct ResolveParams {
  std::string name;                 // a domain name, with or without the final dot
  std::string type = "A";           // mnemonic (A, AAAA, HTTPS, ...) or TYPEnnn, upper case
  std::optional<IpAddress> server;  // ask this configured server directly
  friend bool operator==(const ResolveParams&, const ResolveParams&) = default;
};

struct DiagnoseServerParams {
  std::optional<IpAddress> address;  // absent: probe every configured server
  friend bool operator==(const DiagnoseServerParams&, const DiagnoseServerParams&) = default;
};

// ---- results --------------------------------------------------------------------------

struct EmptyResult {
  friend bool operator==(const EmptyResult&, const EmptyResult&) = default;
};

struct PingResult {
  int protocolVersion = 1;
  std::string daemonVersion;
  int64_t pid = 0;
  friend bool operator==(const PingResult&, const PingResult&) = default;
};

struct StateInfo {
  bool enabled = false;
  bool audit = true;
  uint64_t uptimeSeconds = 0;
  uint32_t serversHealthy = 0;  // servers with a transport known to be up
  uint32_t serversTotal = 0;
  uint32_t serversUnknown = 0;    // not healthy and not checked yet (a transport unknown)
  uint64_t allowedAddresses = 0;  // entries in the allow sets now
  uint32_t exceptions = 0;
  bool loopbackBlocked = false;
  bool permittedLogEnabled = false;
  std::vector<Endpoint> listenAddresses;  // the stub's listeners
  std::string configFile;
  std::string logDir;
  int64_t pid = 0;
  std::string version;
  friend bool operator==(const StateInfo&, const StateInfo&) = default;
};

struct TransportInfo {
  Protocol protocol = Protocol::kDoT;
  uint16_t port = 0;
  std::string hostname;     // the name checked in the certificate (DoT subject, DoH URL host)
  std::string templateUrl;  // DoH only
  bool healthy = true;      // health is up (the field before `health`; false when unknown)
  std::optional<double> lastRttMs;
  std::string lastError;  // the current error in words; empty when none or once it answers
  // Absent from a daemon that predates it; `healthy` then says up or down.
  // (Initialised so that aggregate initialisers written before these fields stay complete.)
  std::optional<Health> health{};
  std::string lastFailure{};                   // the latest failure in words, kept after recovery
  std::optional<std::string> lastFailureAt{};  // when, RFC 3339 UTC
  friend bool operator==(const TransportInfo&, const TransportInfo&) = default;
};

struct ServerInfo {
  std::string name;
  IpAddress address;
  int priority = 100;
  std::vector<TransportInfo> transports;  // DoT first when both are configured
  friend bool operator==(const ServerInfo&, const ServerInfo&) = default;
};

struct ServerList {
  std::vector<ServerInfo> servers;
  friend bool operator==(const ServerList&, const ServerList&) = default;
};

struct DeleteServerResult {
  std::vector<IpAddress> deleted;
  uint32_t remaining = 0;
  friend bool operator==(const DeleteServerResult&, const DeleteServerResult&) = default;
};

struct ExceptionInfo {
  std::string name;
  std::string description;
  std::vector<IpPrefix> subnets;
  friend bool operator==(const ExceptionInfo&, const ExceptionInfo&) = default;
};

struct ExceptionList {
  std::vector<ExceptionInfo> exceptions;
  friend bool operator==(const ExceptionList&, const ExceptionList&) = default;
};

// One X.509 certificate, as `show clientcert` / `show trustedca` print it.
struct CertInfo {
  std::string subject;  // RFC 2253 one-line form
  std::string issuer;
  std::string serial;     // hex
  std::string notBefore;  // RFC 3339 UTC
  std::string notAfter;
  int64_t expiresInSeconds = 0;              // notAfter - now at answer time (negative: expired)
  std::vector<std::string> ekus;             // "serverAuth", "clientAuth", or dotted OIDs
  std::vector<std::string> subjectAltNames;  // "DNS:x", "IP:1.2.3.4"
  friend bool operator==(const CertInfo&, const CertInfo&) = default;
};

struct ClientCertInfo {
  bool configured = false;
  std::string certFile;
  std::string keyFile;
  std::optional<CertInfo> certificate;  // filled by the control server from certFile
  std::optional<bool> keyMatches;       // whether keyFile holds the certificate's key
  std::string error;                    // why the files could not be read; empty when fine
  friend bool operator==(const ClientCertInfo&, const ClientCertInfo&) = default;
};

struct TrustedCaFile {
  std::string file;
  std::vector<CertInfo> certificates;  // filled by the control server from file
  std::string error;
  friend bool operator==(const TrustedCaFile&, const TrustedCaFile&) = default;
};

struct TrustedCaInfo {
  std::vector<TrustedCaFile> files;  // empty: the system trust store is used
  friend bool operator==(const TrustedCaInfo&, const TrustedCaInfo&) = default;
};

struct ServfailCounts {
  uint64_t noServers = 0;
  uint64_t allServersFailed = 0;
  uint64_t timeout = 0;
  uint64_t badAnswer = 0;
  uint64_t allowFailed = 0;  // the allow-set insert failed or timed out: answer withheld
  uint64_t overloaded = 0;   // too many queries in flight
  friend bool operator==(const ServfailCounts&, const ServfailCounts&) = default;
};

struct Stats {
  uint64_t queries = 0;
  uint64_t cacheHits = 0;
  ServfailCounts servfail;
  uint64_t allowInserted = 0;
  uint64_t allowSkippedFresh = 0;
  uint64_t allowEvicted = 0;
  uint64_t allowRefused = 0;
  uint64_t allowSize = 0;
  uint64_t blocked = 0;  // BLOCK events (enforcing)
  uint64_t audited = 0;  // AUDIT events (would block)
  uint64_t permitted = 0;
  uint64_t suppressed = 0;
  uint64_t logLinesLost = 0;
  friend bool operator==(const Stats&, const Stats&) = default;
};

struct LogShowResult {
  std::vector<nlohmann::json> events;  // as written in the channel file, oldest first
  bool truncated = false;              // more events matched than `limit`
  friend bool operator==(const LogShowResult&, const LogShowResult&) = default;
};

struct LogSetResult {
  LogChannel channel = LogChannel::kPermitted;
  bool enabled = false;
  friend bool operator==(const LogSetResult&, const LogSetResult&) = default;
};

struct ResourceRecord {
  std::string name;  // owner, presentation form with the final dot
  std::string type;  // "A", "CNAME", ...
  uint32_t ttl = 0;
  std::string data;  // presentation form of the RDATA
  friend bool operator==(const ResourceRecord&, const ResourceRecord&) = default;
};

// Why an address of an answer is or is not reachable now (when ZTDNS is enabled).
enum class AddressVerdict {
  kResolved,     // in the allow set (kernel-acknowledged), for remainingSeconds
  kNotAllowed,   // not in the allow set, not excepted
  kException,    // inside an exception's prefix (`exception` names it)
  kLoopback,     // loopback: the loopback switch alone decides (allowed = !loopbackTrafficBlocked)
  kUnspecified,  // 0.0.0.0 or ::, never allowed
  kMulticast,    // multicast or broadcast, never allowed
};
const char* addressVerdictName(AddressVerdict v);  // "resolved", "not-allowed", ...

struct AddressAllowance {
  IpAddress address;
  bool allowed = false;                     // a connection to it would be allowed now
  std::optional<int64_t> remainingSeconds;  // how long it stays in the allow set
  std::string source = "answer";            // "answer" (an A/AAAA record), "ipv4hint", "ipv6hint"
  AddressVerdict verdict = AddressVerdict::kNotAllowed;
  std::string exception;  // kException: the exception's name
  friend bool operator==(const AddressAllowance&, const AddressAllowance&) = default;
};

// What the policy does with addresses that are not allowed.
enum class Enforcement { kUnknown, kDisabled, kAudit, kEnforce };
const char* enforcementName(Enforcement e);  // "", "disabled", "audit", "enforce"

struct ResolveResult {
  std::string name;
  std::string type;
  std::string rcode;  // "NOERROR", "NXDOMAIN", "SERVFAIL", ...
  std::vector<ResourceRecord> answers;
  std::string serverName;          // the display name of the server that answered
  std::optional<Endpoint> server;  // absent when no server answered (SERVFAIL)
  std::optional<Protocol> protocol;
  std::optional<double> rttMs;
  bool fromCache = false;
  std::string failure;  // why the stub answered SERVFAIL itself; empty otherwise
  Enforcement enforcement = Enforcement::kUnknown;  // the state when it was answered
  // Every A/AAAA in the answer and every ipv4hint/ipv6hint of its SVCB/HTTPS records.
  std::vector<AddressAllowance> addresses;
  friend bool operator==(const ResolveResult&, const ResolveResult&) = default;
};

// One probe step: "connect", "tls" or "query".
struct ProbeStep {
  std::string step;
  bool ok = false;
  std::optional<double> ms;
  // On failure: a stable reason code (refused, timeout, network, certificate-expired,
  // name-mismatch, unknown-ca, certificate-invalid, pin-mismatch, client-certificate-rejected,
  // tls, closed, http, bad-answer, cancelled) and the error in words.
  std::string reason;
  std::string error;
  friend bool operator==(const ProbeStep&, const ProbeStep&) = default;
};

struct ServerProbe {
  std::string name;
  IpAddress address;
  uint16_t port = 0;
  Protocol protocol = Protocol::kDoT;
  bool mtls = false;             // a client certificate was offered
  std::vector<ProbeStep> steps;  // stops at the first failed step
  friend bool operator==(const ServerProbe&, const ServerProbe&) = default;
};

struct DiagnoseServerResult {
  std::vector<ServerProbe> servers;  // one per server and transport
  friend bool operator==(const DiagnoseServerResult&, const DiagnoseServerResult&) = default;
};

}  // namespace ztdns::control
