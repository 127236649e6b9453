// Runs LLVMFuzzerTestOneInput without libFuzzer (e.g. with g++): replays the files given on
// the command line, then a fixed-seed batch of random inputs.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::FILE* file = std::fopen(argv[i], "rb");
    if (file == nullptr) continue;
    std::vector<uint8_t> input;
    for (int byte = std::fgetc(file); byte != EOF; byte = std::fgetc(file)) {
      input.push_back(static_cast<uint8_t>(byte));
    }
    std::fclose(file);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::srand(20261126);
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> input(static_cast<size_t>(std::rand() % 2200));
    const int zero_odds = 1 + std::rand() % 300;
    for (auto& byte : input) byte = std::rand() % zero_odds == 0 ? 0 : static_cast<uint8_t>(std::rand());
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("frame fuzzer smoke run: OK\n");
  return 0;
}
