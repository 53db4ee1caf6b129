/* SPDX-License-Identifier: BSD-3-Clause */
/* ephctl top: the live view (see top.c). */
#ifndef EPHCTL_TOP_H
#define EPHCTL_TOP_H

struct ephctl_top_opts {
	const char *socket;
	double timeout_s;     /* per request */
	double interval_s;    /* between frames */
	long long iterations; /* 0: until q, Ctrl-C or SIGTERM */
};

/* Runs the view; returns ephctl's exit code (enum ephctl_status). */
int ephctl_top(const struct ephctl_top_opts *opts);

#endif /* EPHCTL_TOP_H */
