// Replays a libFuzzer corpus without libFuzzer: every file (or every file in every
// directory) named on the command line goes through LLVMFuzzerTestOneInput once. CTest
// runs this so that a plain g++ build checks the corpus; a crash fails the test.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

int runFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int files = 0;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path arg(argv[i]);
    if (std::filesystem::is_directory(arg)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg))
        if (entry.is_regular_file()) files += runFile(entry.path());
    } else if (std::filesystem::exists(arg)) {
      files += runFile(arg);
    } else {
      std::fprintf(stderr, "corpus_runner: %s does not exist\n", argv[i]);
      return 2;
    }
  }
  std::printf("corpus_runner: %d inputs replayed without a crash\n", files);
  return files > 0 ? 0 : 1;
}
