/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target: the YAML configuration loader (eph_conf_load) on any
 * bytes, as a file. Oracles besides no crash, no leak and no undefined
 * behaviour:
 *  - it returns 0, -EINVAL or -ENOMEM; -EINVAL with at least one error,
 *    0 with none;
 *  - every line it writes is "FILE:LINE:COL: error: ..." or "...:
 *    warning: ...", FILE the path it was given, LINE and COL from 1, LINE
 *    within the file (libyaml puts the end of a file without a final
 *    newline on the line after its last: one more is allowed);
 *  - a configuration it accepts passes eph_conf_check (the re-check of
 *    live changes) and equals its own copy (eph_conf_dup, eph_conf_diff).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control/config.h"

#define TARGET "fuzz_config"

static int fd = -1;
static char path[64];
static struct eph_conf conf, copy;

static void __attribute__((noreturn))
fail(const char *diag, const uint8_t *data, size_t size, const char *why)
{
	fprintf(stderr,
		"\n" TARGET ": ORACLE FAILED: %s\n--- file (%zu bytes) ---\n%.*s\n"
		"--- diagnostics ---\n%s\n",
		why, size, (int)size, (const char *)data, diag != NULL ? diag : "");
	fflush(stderr);
	abort();
}

/* One diagnostic line: "PATH:LINE:COL: error: " or "... warning: ", then some text. */
static bool
diag_line_ok(const char *line, size_t len, unsigned long max_line, bool *is_error)
{
	size_t plen = strlen(path);
	const char *p = line + plen, *end = line + len;
	unsigned long ln, col;
	char *q;

	if (len <= plen || memcmp(line, path, plen) != 0 || *p != ':')
		return false;
	p++;
	ln = strtoul(p, &q, 10);
	if (q == p || *q != ':' || ln == 0 || ln > max_line)
		return false;
	p = q + 1;
	col = strtoul(p, &q, 10);
	if (q == p || *q != ':' || col == 0)
		return false;
	p = q + 1;
	if ((size_t)(end - p) > 9 && memcmp(p, " error: ", 8) == 0) {
		*is_error = true;
		return true;
	}
	*is_error = false;
	return (size_t)(end - p) > 11 && memcmp(p, " warning: ", 10) == 0;
}

/* Line breaks as YAML 1.1 counts them: LF, CR, CR LF, NEL, LS and PS. */
static unsigned long
yaml_breaks(const uint8_t *d, size_t n)
{
	unsigned long breaks = 0;

	for (size_t i = 0; i < n; i++) {
		if (d[i] == '\n' || (d[i] == '\r' && (i + 1 == n || d[i + 1] != '\n')))
			breaks++;
		else if (d[i] == 0xc2 && i + 1 < n && d[i + 1] == 0x85)
			breaks++;
		else if (d[i] == 0xe2 && i + 2 < n && d[i + 1] == 0x80 &&
			 (d[i + 2] == 0xa8 || d[i + 2] == 0xa9))
			breaks++;
	}
	return breaks;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* A file that lives in memory: no disk write per run, and no name to collide. */
	fd = memfd_create("fuzz-config.yaml", MFD_CLOEXEC);
	if (fd < 0) {
		perror(TARGET ": memfd_create");
		exit(1);
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *diag = NULL, *check_diag = NULL;
	size_t diag_len = 0, check_len = 0;
	unsigned long lines = 2, errors = 0;
	FILE *err;
	int rc, diffs;

	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
		perror(TARGET ": writing the file");
		exit(1);
	}
	lines += yaml_breaks(data, size);

	err = open_memstream(&diag, &diag_len);
	if (err == NULL)
		exit(1);
	rc = eph_conf_load(path, &conf, err);
	fclose(err);

	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		fail(diag, data, size, "eph_conf_load returned neither 0, -EINVAL nor -ENOMEM");
	for (const char *l = diag; l < diag + diag_len;) {
		const char *nl = memchr(l, '\n', (size_t)(diag + diag_len - l));
		bool is_error;

		if (nl == NULL)
			fail(diag, data, size, "the last diagnostic does not end its line");
		if (!diag_line_ok(l, (size_t)(nl - l), lines, &is_error))
			fail(diag, data, size,
			     "a diagnostic line is not \"FILE:LINE:COL: error: "
			     "...\" (or warning) for a line of the file");
		errors += is_error;
		l = nl + 1;
	}
	if (rc == -EINVAL && errors == 0)
		fail(diag, data, size, "refused without an error line");
	if (rc == 0 && errors != 0)
		fail(diag, data, size, "accepted with error lines");

	if (rc == 0) {
		err = open_memstream(&check_diag, &check_len);
		if (err == NULL)
			exit(1);
		if (eph_conf_check(&conf, err) != 0) {
			fclose(err);
			fail(check_diag, data, size,
			     "eph_conf_load accepted what eph_conf_check "
			     "refuses");
		}
		fclose(err);
		free(check_diag);
		if (eph_conf_dup(&copy, &conf) == 0) {
			diffs = eph_conf_diff(&conf, &copy, NULL, NULL);
			if (diffs != 0)
				fail(diag, data, size, "a configuration differs from its own copy");
			eph_conf_free(&copy);
		}
		eph_conf_free(&conf);
	}
	free(diag);
	return 0;
}
