/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ephctl top: every interval, show.stats, show.pools and show.destinations
 * over one connection, drawn as one screen (render.c builds it). On a
 * terminal the screen is redrawn in place with ANSI sequences on the
 * alternate screen, keys are read in non-canonical mode and q quits; the
 * terminal is restored on every way out. Piped, or with --iterations, frames
 * follow each other as plain text.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "control/ephctl/client.h"
#include "control/ephctl/render.h"
#include "control/ephctl/top.h"

#define DESTINATIONS_SHOWN 10

#define ANSI_ALT_SCREEN_ON  "\033[?1049h"
#define ANSI_ALT_SCREEN_OFF "\033[?1049l"
#define ANSI_CURSOR_HIDE    "\033[?25l"
#define ANSI_CURSOR_SHOW    "\033[?25h"
#define ANSI_HOME           "\033[H"
#define ANSI_CLEAR_LINE     "\033[K"
#define ANSI_CLEAR_BELOW    "\033[J"

static volatile sig_atomic_t stop_requested;

static struct termios saved_termios;
static bool termios_changed;
static bool screen_taken;

static void
on_stop_signal(int sig)
{
	stop_requested = sig;
}

static void
terminal_restore(void)
{
	if (termios_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
	termios_changed = false;
	if (screen_taken) {
		fputs(ANSI_CURSOR_SHOW ANSI_ALT_SCREEN_OFF, stdout);
		fflush(stdout);
	}
	screen_taken = false;
}

static void
terminal_take(void)
{
	struct termios raw;

	/* Keys without Enter and without echo; ISIG stays so Ctrl-C still signals. */
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		raw = saved_termios;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
			termios_changed = true;
	}
	fputs(ANSI_ALT_SCREEN_ON ANSI_CURSOR_HIDE, stdout);
	screen_taken = true;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait up to seconds; true when q was pressed. Signals end the wait early. */
static bool
wait_or_quit(double seconds, bool keys)
{
	double deadline = now_s() + seconds;

	while (!stop_requested) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		double left = deadline - now_s();
		int rc;

		if (left <= 0)
			return false;
		rc = poll(&p, keys ? 1 : 0, (int)(left * 1000.0) + 1);
		if (rc > 0) {
			char key;

			if (read(STDIN_FILENO, &key, 1) == 1 && (key == 'q' || key == 'Q'))
				return true;
			if (p.revents & (POLLHUP | POLLERR))
				keys = false;
		}
	}
	return false;
}

/* One frame onto the terminal: home, each line cleared to its end, the rest cleared. */
static void
draw(const char *frame)
{
	struct winsize ws = { .ws_row = 0 };
	unsigned int rows, cols, row = 0;
	const char *line = frame;

	ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	rows = ws.ws_row > 0 ? ws.ws_row : 24;
	cols = ws.ws_col > 0 ? ws.ws_col : 80;
	fputs(ANSI_HOME, stdout);
	while (*line != '\0' && row < rows) {
		const char *nl = strchrnul(line, '\n');
		size_t len = (size_t)(nl - line);

		/* The frame is ASCII: bytes are columns. */
		fprintf(stdout, "%s%.*s" ANSI_CLEAR_LINE, row > 0 ? "\n" : "",
			(int)(len < cols ? len : cols), line);
		row++;
		line = *nl == '\0' ? nl : nl + 1;
	}
	fputs(ANSI_CLEAR_BELOW, stdout);
	fflush(stdout);
}

struct samples {
	json_t *version;
	json_t *stats;
	json_t *prev_stats;
	json_t *pools;
	json_t *destinations;
};

static void
samples_free(struct samples *s)
{
	json_decref(s->version);
	json_decref(s->stats);
	json_decref(s->prev_stats);
	json_decref(s->pools);
	json_decref(s->destinations);
}

/* One refresh; a section the daemon refuses is left out, a lost daemon ends top. */
static enum ephctl_status
sample(struct ephctl_conn *c, const struct ephctl_top_opts *o, struct samples *s, char **err)
{
	json_t *dest_args = json_pack("{s:i}", "top", DESTINATIONS_SHOWN);
	enum ephctl_status st;
	json_t *r;

	json_decref(s->prev_stats);
	s->prev_stats = s->stats;
	st = ephctl_call(c, "show.stats", NULL, o->timeout_s, &s->stats, err);
	if (st == EPHCTL_OK) {
		st = ephctl_call(c, "show.pools", NULL, o->timeout_s, &r, err);
		json_decref(s->pools);
		s->pools = r;
	}
	if (st != EPHCTL_UNREACHABLE && s->stats != NULL) {
		st = ephctl_call(c, "show.destinations", dest_args, o->timeout_s, &r, err);
		json_decref(s->destinations);
		s->destinations = r;
	}
	json_decref(dest_args);
	if (st == EPHCTL_REFUSED && s->stats != NULL) {
		free(*err);
		*err = NULL;
		st = EPHCTL_OK;
	}
	return st;
}

int
ephctl_top(const struct ephctl_top_opts *o)
{
	bool interactive = isatty(STDOUT_FILENO) && o->iterations == 0;
	bool keys = interactive && isatty(STDIN_FILENO);
	struct sigaction sa = { .sa_handler = on_stop_signal };
	struct samples s = { NULL };
	enum ephctl_status st;
	struct ephctl_conn c;
	double prev_t = 0, t, next;
	char *err = NULL;

	st = ephctl_connect(&c, o->socket, o->timeout_s, &err);
	if (st != EPHCTL_OK)
		goto out;
	/* Only the header shows the version: a daemon that refuses it is still watched. */
	st = ephctl_call(&c, "version", NULL, o->timeout_s, &s.version, &err);
	if (st == EPHCTL_UNREACHABLE)
		goto out;
	st = EPHCTL_OK;
	free(err);
	err = NULL;

	/* No SA_RESTART: a signal ends the wait between frames at once. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (interactive)
		terminal_take();

	next = now_s();
	for (long long frame = 0; !stop_requested; frame++) {
		struct ephctl_top_view view;
		char *text = NULL;
		size_t len = 0;
		FILE *mem;

		st = sample(&c, o, &s, &err);
		if (st != EPHCTL_OK)
			break;
		t = now_s();
		view = (struct ephctl_top_view){
			.version = s.version,
			.stats = s.stats,
			.prev_stats = s.prev_stats,
			.elapsed_s = t - prev_t,
			.pools = s.pools,
			.destinations = s.destinations,
			.interval_s = o->interval_s,
		};
		prev_t = t;
		mem = open_memstream(&text, &len);
		if (mem == NULL || ephctl_render_top(mem, &view) < 0) {
			if (mem != NULL)
				fclose(mem);
			free(text);
			err = strdup("the answer to show.stats has no \"workers\" list");
			st = EPHCTL_UNREACHABLE;
			break;
		}
		if (interactive)
			fputs("\npress q to quit\n", mem);
		fclose(mem);
		if (interactive) {
			draw(text);
		} else {
			printf("%s%s", frame > 0 ? "\n" : "", text);
			fflush(stdout);
		}
		free(text);
		if (o->iterations > 0 && frame + 1 >= o->iterations)
			break;
		next += o->interval_s;
		if (next < now_s())
			next = now_s();
		if (wait_or_quit(next - now_s(), keys))
			break;
	}
out:
	terminal_restore();
	ephctl_close(&c);
	samples_free(&s);
	if (st != EPHCTL_OK)
		ephctl_print_error(err);
	free(err);
	return st;
}
