ztdns_fuzz_target(dns_query dns_query_fuzz.cc ztdns::dns)
