/*
 * Benchmark helper (not a test), built and run by benches/container-start.sh:
 *   cgroup-floor HIERARCHY LIMIT_FILE BYTES CMD [ARG...]
 * The least work "a command in a cgroup with a memory limit" takes: in the
 * cgroup hierarchy mounted at HIERARCHY (v1's memory one, or cgroup2), make a
 * cgroup of its own (named after this process's pid), write BYTES to
 * LIMIT_FILE (memory.limit_in_bytes on v1, memory.max on cgroup2), fork a
 * child that joins it and execs CMD, wait for the
 * child, remove the cgroup, exit with the child's status. It gives the
 * `unshare` + `chroot` floor and bwrap the cgroup the benchmark's workload asks
 * for, with nothing more than the kernel's own cost of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void put(const char *dir, const char *file, const char *value)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, value, strlen(value)) < 0) {
        fprintf(stderr, "cgroup-floor: write %s: %s\n", path, strerror(errno));
        _exit(125);
    }
    close(fd);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: cgroup-floor HIERARCHY LIMIT_FILE BYTES CMD [ARG...]\n");
        return 2;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cgroup-floor.%d", argv[1], (int)getpid());
    if (mkdir(dir, 0755) < 0) {
        fprintf(stderr, "cgroup-floor: mkdir %s: %s\n", dir, strerror(errno));
        return 125;
    }
    put(dir, argv[2], argv[3]);
    pid_t pid = fork();
    if (pid < 0) {
        perror("cgroup-floor: fork");
        rmdir(dir);
        return 125;
    }
    if (pid == 0) {
        put(dir, "cgroup.procs", "0");
        execvp(argv[4], argv + 4);
        fprintf(stderr, "cgroup-floor: exec %s: %s\n", argv[4], strerror(errno));
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    /* The child is gone; rmdir may briefly see the group busy while the
     * kernel finishes the exit. */
    for (int i = 0; i < 1000 && rmdir(dir) < 0 && errno == EBUSY; i++)
        usleep(100);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
