/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the cases that run Debian's own tools in the Debian guest
 * flavour (suite key guest=debian13): run a tool and capture its output,
 * start and stop a daemon, read the kernel log and the outcome that memory
 * failure logged for a pfn.
 */
#ifndef HWPOISON_DEBIAN_H
#define HWPOISON_DEBIAN_H

#include <signal.h>
#include <stdarg.h>
#include <sys/klog.h>
#include <sys/wait.h>
#include <time.h>
#include "hwpoison_util.h"

static inline bool have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Output of a shell command, malloc'ed; NULL if it could not run. */
static inline char *capture(const char *cmd)
{
	size_t cap = 1 << 16, len = 0, n;
	FILE *f = popen(cmd, "r");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
	}
	pclose(f);
	if (buf)
		buf[len] = 0;
	return buf;
}

static inline int shell(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Start a tool in the background, its output in @log. */
static inline pid_t spawn(const char *log, char *const argv[])
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setpgid(0, 0);
	execvp(argv[0], argv);
	_exit(127);
}

static inline int stop(pid_t pid, int sig, int seconds)
{
	int status = -1, i;

	kill(pid, sig);
	for (i = 0; i < seconds * 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static inline bool wait_file_says(const char *path, const char *want,
				  int seconds)
{
	char buf[64] = "";
	int i;

	for (i = 0; i < seconds * 10; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
			if (!strncmp(buf, want, strlen(want)))
				return true;
		}
		usleep(100000);
	}
	return false;
}

static inline bool wait_file_has(const char *path, const char *want,
				 int seconds)
{
	int i;

	for (i = 0; i < seconds * 10; i++) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "grep -qF '%s' %s 2>/dev/null", want,
			 path);
		if (!shell("%s", cmd))
			return true;
		usleep(100000);
	}
	return false;
}

static inline char *kernel_log(void)
{
	int len = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf = malloc(len + 1);
	int n;

	if (!buf)
		return NULL;
	n = klogctl(3, buf, len);	/* SYSLOG_ACTION_READ_ALL */
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* "<what>: <type>: <result>" for @pfn after @prefix, or "" if absent. */
static inline void outcome_after(const char *text, const char *prefix,
				 uint64_t pfn, char *out, size_t len)
{
	char needle[96];
	const char *p, *end;

	out[0] = 0;
	snprintf(needle, sizeof(needle), "%s%#llx: recovery action for ", prefix,
		 (unsigned long long)pfn);
	p = text ? strstr(text, needle) : NULL;
	if (!p)
		return;
	p += strlen(needle);
	end = strchr(p, '\n');
	if (!end)
		end = p + strlen(p);
	snprintf(out, len, "%.*s", (int)(end - p), p);
}

static inline bool wait_log(const char *needle, int seconds)
{
	time_t end = time(NULL) + seconds;

	do {
		char *log = kernel_log();
		bool found = log && strstr(log, needle);

		free(log);
		if (found)
			return true;
		usleep(100000);
	} while (time(NULL) < end);
	return false;
}

/* Poison a private page of a child by its own MADV_HWPOISON; its pfn. */
static inline uint64_t madvise_in_child(void)
{
	long ps = hwp_page_size();
	uint64_t pfn = 0;
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return 0;
	pid = fork();
	if (!pid) {
		char *p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		hwp_fill(p, ps, 5);
		pfn = hwp_virt_to_pfn(p);
		if (write(fds[1], &pfn, sizeof(pfn)) != sizeof(pfn))
			_exit(1);
		/* Action required for the caller: this child dies of it. */
		madvise(p, ps, MADV_HWPOISON);
		_exit(0);
	}
	if (read(fds[0], &pfn, sizeof(pfn)) != sizeof(pfn))
		pfn = 0;
	waitpid(pid, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	return pfn;
}

/*
 * Hard offline from every entry, each free pfn picked just before its
 * report: the injector, sysfs hard_offline_page, MADV_HWPOISON in a child
 * and, with the host, a machine check from the QEMU monitor, whose log
 * line is waited for up to @mce_seconds. Fills @pfns (room for 4).
 * Return: how many, or minus the number (1 to 4) of the entry that failed.
 */
static inline int hard_offline_every_entry(uint64_t *pfns, int mce_seconds)
{
	char needle[64];
	int n = 0;

	pfns[n] = hwp_free_pfn();
	if (hwp_inject_pfn(pfns[n++]))
		return -n;
	pfns[n] = hwp_free_pfn();
	if (hwp_sysfs_offline("hard", pfns[n++]))
		return -n;
	pfns[n] = madvise_in_child();
	if (!pfns[n++])
		return -n;
	if (!hwp_host_present())
		return n;
	pfns[n] = hwp_free_pfn();
	snprintf(needle, sizeof(needle), "Memory failure: %#llx: recovery",
		 (unsigned long long)pfns[n]);
	if (hwp_request_mce("srao", pfns[n++]) || !wait_log(needle, mce_seconds))
		return -n;
	return n;
}

#endif /* HWPOISON_DEBIAN_H */
