ztdns_fuzz_target(dns_answer dns_answer_fuzz.cc ztdns::dns)
