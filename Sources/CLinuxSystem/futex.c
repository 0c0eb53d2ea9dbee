#include "CLinuxSystem.h"

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int swiftmpi_futex_wait(uint32_t *word, uint32_t expected, long nanoseconds) {
    struct timespec timeout = {.tv_sec = nanoseconds / 1000000000L, .tv_nsec = nanoseconds % 1000000000L};
    return (int)syscall(SYS_futex, word, FUTEX_WAIT, expected, &timeout, NULL, 0);
}

int swiftmpi_futex_wake(uint32_t *word, int count) {
    return (int)syscall(SYS_futex, word, FUTEX_WAKE, count, NULL, NULL, 0);
}
#else
#include <errno.h>
#include <time.h>

// No futex: sleep the timeout, as the backend did before it used futexes.
int swiftmpi_futex_wait(uint32_t *word, uint32_t expected, long nanoseconds) {
    (void)word;
    (void)expected;
    struct timespec pause = {.tv_sec = nanoseconds / 1000000000L, .tv_nsec = nanoseconds % 1000000000L};
    nanosleep(&pause, NULL);
    errno = ETIMEDOUT;
    return -1;
}

int swiftmpi_futex_wake(uint32_t *word, int count) {
    (void)word;
    (void)count;
    return 0;
}
#endif
