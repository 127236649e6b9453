// Native HAL: the "UART" is a pseudo-terminal this process opens itself.
//
// Startup prints exactly "tinyrig-uart: /dev/pts/N\n" on stdout. The slave side stays open in
// this process too, so a host that closes and reopens the port never makes reads fail with EIO.
// RESET re-executes /proc/self/exe (same PID) with the pty file descriptors inherited and named
// in TINYRIG_NATIVE_PTY_FDS: every static is fresh, like a real reset, and the host keeps the
// same /dev/pts path open. SIGTERM/SIGINT end the serve loop and the process exits with 0, and
// so does the death of the process that started it (getppid() changes; polled while idle, so a
// host killed with SIGKILL leaves no firmware behind). PR_SET_PDEATHSIG is not used: it fires
// when the parent *thread* exits, which would stop a board a host opened from a worker thread.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hal/hal.h"

namespace tinyrig {
namespace hal {
namespace {

constexpr const char kPtyFdsVariable[] = "TINYRIG_NATIVE_PTY_FDS";
int g_master_fd = -1;
int g_slave_fd = -1;
BootReason g_boot_reason = BootReason::kPowerOn;
volatile sig_atomic_t g_stop_requested = 0;
pid_t g_parent_pid = 0;
uint64_t g_ticks_origin_ns = 0;

void OnStopSignal(int) { g_stop_requested = 1; }

uint64_t MonotonicNanoseconds() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

bool MakeRaw(int fd) {
  termios settings{};
  if (tcgetattr(fd, &settings) != 0) return false;
  cfmakeraw(&settings);
  return tcsetattr(fd, TCSANOW, &settings) == 0;
}

bool OpenPseudoTerminal() {
  g_master_fd = posix_openpt(O_RDWR | O_NOCTTY);
  if (g_master_fd < 0 || grantpt(g_master_fd) != 0 || unlockpt(g_master_fd) != 0) return false;
  const char* slave_path = ptsname(g_master_fd);
  if (slave_path == nullptr) return false;
  g_slave_fd = open(slave_path, O_RDWR | O_NOCTTY);
  if (g_slave_fd < 0 || !MakeRaw(g_slave_fd)) return false;
  std::printf("tinyrig-uart: %s\n", slave_path);
  std::fflush(stdout);
  return true;
}

bool AdoptInheritedPseudoTerminal(const char* fds) {
  if (std::sscanf(fds, "%d,%d", &g_master_fd, &g_slave_fd) != 2) return false;
  return fcntl(g_master_fd, F_GETFD) != -1 && fcntl(g_slave_fd, F_GETFD) != -1;
}

void InstallSignalHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR and the loop sees the flag
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

bool Init() {
  g_ticks_origin_ns = MonotonicNanoseconds();
  g_parent_pid = getppid();  // RESET re-executes with the same PID: the same parent
  InstallSignalHandlers();
  const char* inherited = std::getenv(kPtyFdsVariable);
  if (inherited != nullptr) {
    if (!AdoptInheritedPseudoTerminal(inherited)) return false;
    g_boot_reason = BootReason::kSoftwareReset;
    unsetenv(kPtyFdsVariable);
  } else if (!OpenPseudoTerminal()) {
    std::perror("tinyrig: cannot open a pseudo-terminal");
    return false;
  }
  const int flags = fcntl(g_master_fd, F_GETFL);
  return fcntl(g_master_fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

BootReason GetBootReason() { return g_boot_reason; }

void UartWrite(const uint8_t* data, size_t size) {
  while (size > 0 && g_stop_requested == 0) {
    const ssize_t written = write(g_master_fd, data, size);
    if (written > 0) {
      data += written;
      size -= static_cast<size_t>(written);
      continue;
    }
    if (written < 0 && errno != EAGAIN && errno != EINTR) return;
    pollfd ready{g_master_fd, POLLOUT, 0};
    poll(&ready, 1, 100);
  }
}

void UartFlush() { tcdrain(g_slave_fd); }

size_t UartRead(uint8_t* buffer, size_t capacity) {
  const ssize_t count = read(g_master_fd, buffer, capacity);
  return count > 0 ? static_cast<size_t>(count) : 0;
}

// Nanoseconds: sub-microsecond invokes (hello_world) still measure. u32 deltas wrap at 4.29 s.
uint64_t Ticks() { return MonotonicNanoseconds() - g_ticks_origin_ns; }
uint32_t TickHz() { return 1000000000u; }
uint32_t CpuHz() { return 0; }
TimeUnit TickUnit() { return TimeUnit::NS; }
const char* BoardName() { return "native"; }

void WaitForEvent() {
  pollfd readable{g_master_fd, POLLIN, 0};
  poll(&readable, 1, 250);
}

void Nap() { poll(nullptr, 0, 1); }

bool ShouldExit() {
  // An orphan is re-parented (to init or a subreaper): its host is gone, nobody will talk to it.
  return g_stop_requested != 0 || getppid() != g_parent_pid;
}

void SystemReset() {
  char fds[32];
  std::snprintf(fds, sizeof(fds), "%d,%d", g_master_fd, g_slave_fd);
  setenv(kPtyFdsVariable, fds, 1);
  char self[] = "/proc/self/exe";
  char* const arguments[] = {self, nullptr};
  execv(self, arguments);
  std::perror("tinyrig: re-exec for RESET failed");
  std::_Exit(1);
}

void DebugWrite(const char* text, size_t size) {
  if (std::getenv("TINYRIG_NATIVE_DEBUG") == nullptr) return;
  const ssize_t ignored = write(STDERR_FILENO, text, size);
  (void)ignored;
}

}  // namespace hal
}  // namespace tinyrig
