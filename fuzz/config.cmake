ztdns_fuzz_target(config config_fuzz.cc ztdns::config)
