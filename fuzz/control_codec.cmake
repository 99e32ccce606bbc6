ztdns_fuzz_target(control_codec control_codec_fuzz.cc ztdns::control)
