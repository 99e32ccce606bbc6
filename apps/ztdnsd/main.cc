// ztdnsd: placeholder until the daemon wiring lands.
int main() { return 0; }
