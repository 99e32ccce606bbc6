# One line per fuzz target: ztdns_fuzz_target(<name> <name>_fuzz.cc <libraries>)
