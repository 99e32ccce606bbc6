// observe_probe: a deliberately short-lived sender for the attribution tests.
//
//   observe_probe tcp|udp|icmp ADDRESS PORT_OR_ICMP_ID [SOURCE_PORT]
//
// Sends exactly one TCP connect, one UDP datagram or one ICMP/ICMPv6 echo request, then
// exits at once (well under 50 ms), so the attribution must not depend on the process
// still being alive. Exit status 0 when the packet was handed to the kernel.
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s tcp|udp|icmp ADDRESS PORT_OR_ID [SOURCE_PORT]\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  unsigned number = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
  sockaddr_storage ss{};
  socklen_t len;
  bool v6 = std::strchr(argv[2], ':') != nullptr;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(mode == "icmp" ? 0 : static_cast<uint16_t>(number));
    if (inet_pton(AF_INET6, argv[2], &a->sin6_addr) != 1) return 2;
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(mode == "icmp" ? 0 : static_cast<uint16_t>(number));
    if (inet_pton(AF_INET, argv[2], &a->sin_addr) != 1) return 2;
    len = sizeof *a;
  }
  int family = v6 ? AF_INET6 : AF_INET;
  int fd;
  if (mode == "tcp") {
    fd = socket(family, SOCK_STREAM, 0);
  } else if (mode == "udp") {
    fd = socket(family, SOCK_DGRAM, 0);
  } else if (mode == "icmp") {
    fd = socket(family, SOCK_RAW,
                v6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP));
  } else {
    return 2;
  }
  if (fd < 0) {
    std::perror("socket");
    return 1;
  }
  if (argc > 4) {
    sockaddr_storage local{};
    if (v6) {
      auto* l = reinterpret_cast<sockaddr_in6*>(&local);
      l->sin6_family = AF_INET6;
      l->sin6_port = htons(static_cast<uint16_t>(std::strtoul(argv[4], nullptr, 10)));
    } else {
      auto* l = reinterpret_cast<sockaddr_in*>(&local);
      l->sin_family = AF_INET;
      l->sin_port = htons(static_cast<uint16_t>(std::strtoul(argv[4], nullptr, 10)));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), len) != 0) {
      std::perror("bind");
      return 1;
    }
  }
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  if (mode == "tcp") {
    // Blocking connect: a rejected SYN fails at once (ECONNREFUSED); an accepted one to an
    // address that never answers is abandoned after the SYN is out.
    timeval tv{0, 10 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, sa, len) == 0) return 0;
    return (errno == ECONNREFUSED || errno == EINPROGRESS || errno == EAGAIN ||
            errno == ETIMEDOUT || errno == EHOSTUNREACH || errno == EACCES || errno == EPERM)
               ? 0
               : 1;
  }
  if (mode == "udp") {
    const char payload[] = "ztdns-probe";
    return sendto(fd, payload, sizeof payload - 1, 0, sa, len) >= 0 || errno == EPERM ? 0 : 1;
  }
  unsigned char packet[16] = {};
  packet[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
  packet[4] = static_cast<unsigned char>(number >> 8);
  packet[5] = static_cast<unsigned char>(number);
  packet[7] = 1;  // sequence
  if (!v6) {      // the kernel fills in the ICMPv6 checksum; ICMPv4 is ours
    uint32_t sum = 0;
    for (size_t i = 0; i < sizeof packet; i += 2)
      sum += static_cast<uint32_t>(packet[i] << 8 | packet[i + 1]);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    uint16_t c = static_cast<uint16_t>(~sum);
    packet[2] = static_cast<unsigned char>(c >> 8);
    packet[3] = static_cast<unsigned char>(c);
  }
  return sendto(fd, packet, sizeof packet, 0, sa, len) >= 0 || errno == EPERM ? 0 : 1;
}
