/* SPDX-License-Identifier: BSD-3-Clause */
/* The NAT's TCP tracking table (the choices are explained in tcp_state.h). */
#include "dataplane/flow/tcp_state.h"

#define T(s) EPH_TCP_##s

/* clang-format off */
/* One row per state: what each event does, inside->outside then outside->inside. */
#define ROW(st, in_none, in_syn, in_synack, in_fin, in_ack, out_none, out_syn, out_synack, \
	    out_fin, out_ack)                                                               \
	[T(st)] = {                                                                         \
		[EPH_DIR_IN2OUT] = { T(in_none), T(in_syn), T(in_synack), T(in_fin),        \
				     T(in_ack), T(RST) },                                   \
		[EPH_DIR_OUT2IN] = { T(out_none), T(out_syn), T(out_synack), T(out_fin),    \
				     T(out_ack), T(RST) },                                  \
	}

/* RST always leads to RST; columns:   NONE  SYN  SYN-ACK  FIN  ACK (inside), then outside. */
const uint8_t eph_tcp_fsm[EPH_TCP_N_STATES][2][EPH_TCP_N_EVENTS] = {
	ROW(CLOSED,
	    CLOSED, SYN_SENT, CLOSED, CLOSED, CLOSED,
	    CLOSED, SYN_INBOUND, CLOSED, CLOSED, CLOSED),
	/* Inside-initiated: only the outside's SYN (simultaneous open) or SYN-ACK answers. */
	ROW(SYN_SENT,
	    SYN_SENT, SYN_SENT, SYN_SENT, SYN_SENT, SYN_SENT,
	    SYN_SENT, SYN_RCVD, SYN_RCVD, SYN_SENT, SYN_SENT),
	/* The inside's ACK (or FIN, which carries it) completes the handshake. */
	ROW(SYN_RCVD,
	    SYN_RCVD, SYN_RCVD, SYN_RCVD, FIN_IN, ESTABLISHED,
	    SYN_RCVD, SYN_RCVD, SYN_RCVD, SYN_RCVD, SYN_RCVD),
	/* Outside-initiated: a lone SYN, however often repeated, stays here. */
	ROW(SYN_INBOUND,
	    SYN_INBOUND, SYN_INBOUND_RCVD, SYN_INBOUND_RCVD, SYN_INBOUND, SYN_INBOUND,
	    SYN_INBOUND, SYN_INBOUND, SYN_INBOUND, SYN_INBOUND, SYN_INBOUND),
	ROW(SYN_INBOUND_RCVD,
	    SYN_INBOUND_RCVD, SYN_INBOUND_RCVD, SYN_INBOUND_RCVD, SYN_INBOUND_RCVD,
	    SYN_INBOUND_RCVD,
	    SYN_INBOUND_RCVD, SYN_INBOUND_RCVD, SYN_INBOUND_RCVD, FIN_OUT, ESTABLISHED),
	ROW(ESTABLISHED,
	    ESTABLISHED, ESTABLISHED, ESTABLISHED, FIN_IN, ESTABLISHED,
	    ESTABLISHED, ESTABLISHED, ESTABLISHED, FIN_OUT, ESTABLISHED),
	/* Half closed: the other side may still send data for as long as it likes. */
	ROW(FIN_IN,
	    FIN_IN, FIN_IN, FIN_IN, FIN_IN, FIN_IN,
	    FIN_IN, FIN_IN, FIN_IN, LAST_ACK_IN, FIN_IN),
	ROW(FIN_OUT,
	    FIN_OUT, FIN_OUT, FIN_OUT, LAST_ACK_OUT, FIN_OUT,
	    FIN_OUT, FIN_OUT, FIN_OUT, FIN_OUT, FIN_OUT),
	/* Both FINs: the side that did not send the last one owes the final ACK. */
	ROW(LAST_ACK_IN,
	    LAST_ACK_IN, SYN_SENT, LAST_ACK_IN, LAST_ACK_IN, TIME_WAIT,
	    LAST_ACK_IN, SYN_INBOUND, LAST_ACK_IN, LAST_ACK_IN, LAST_ACK_IN),
	ROW(LAST_ACK_OUT,
	    LAST_ACK_OUT, SYN_SENT, LAST_ACK_OUT, LAST_ACK_OUT, LAST_ACK_OUT,
	    LAST_ACK_OUT, SYN_INBOUND, LAST_ACK_OUT, LAST_ACK_OUT, TIME_WAIT),
	/* Closed: a new SYN reuses the 4-tuple for a new connection. */
	ROW(TIME_WAIT,
	    TIME_WAIT, SYN_SENT, TIME_WAIT, TIME_WAIT, TIME_WAIT,
	    TIME_WAIT, SYN_INBOUND, TIME_WAIT, TIME_WAIT, TIME_WAIT),
	ROW(RST,
	    RST, SYN_SENT, RST, RST, RST,
	    RST, SYN_INBOUND, RST, RST, RST),
};
/* clang-format on */

/* The window scale a SYN announces (RFC 7323 sec. 2), or -1. */
static int
syn_window_scale(const struct rte_tcp_hdr *tcp, uint16_t l4_len)
{
	uint16_t hlen = (uint16_t)((tcp->data_off >> 4) * 4);
	const uint8_t *opt = (const uint8_t *)(tcp + 1);
	uint16_t len, i = 0;

	if (hlen > l4_len || hlen < sizeof(*tcp))
		return -1;
	len = (uint16_t)(hlen - sizeof(*tcp));
	while (i < len) {
		if (opt[i] == 0) /* end of options */
			break;
		if (opt[i] == 1) { /* no-operation */
			i++;
			continue;
		}
		if (i + 1 >= len || opt[i + 1] < 2 || i + opt[i + 1] > len)
			break;
		if (opt[i] == 3 && opt[i + 1] == 3)
			return opt[i + 2] > EPH_TCP_WS_MAX ? EPH_TCP_WS_MAX : opt[i + 2];
		i = (uint16_t)(i + opt[i + 1]);
	}
	return -1;
}

static void
set_scale(uint16_t *track, int dir, int scale)
{
	*track = (uint16_t)(*track & ~(EPH_TCP_WS_SEEN(dir) | 0xfu << EPH_TCP_WS_SHIFT(dir)));
	if (scale >= 0)
		*track = (uint16_t)(*track | EPH_TCP_WS_SEEN(dir) |
				    (unsigned int)scale << EPH_TCP_WS_SHIFT(dir));
}

void
eph_tcp_track_syn(uint32_t end[2], uint16_t *track, const struct rte_tcp_hdr *tcp,
		  uint16_t l4_len, int dir, uint8_t from, uint8_t to)
{
	uint8_t opening = dir == EPH_DIR_IN2OUT ? EPH_TCP_SYN_SENT : EPH_TCP_SYN_INBOUND;
	uint8_t answered = dir == EPH_DIR_IN2OUT ? EPH_TCP_SYN_INBOUND_RCVD : EPH_TCP_SYN_RCVD;
	uint32_t e = eph_tcp_seq(tcp) + eph_tcp_seg_len(tcp, l4_len);

	if (!(tcp->tcp_flags & RTE_TCP_ACK_FLAG)) {
		/* A SYN the state machine took as an opening (or its retransmission). */
		if (to != opening || (from != opening && from != EPH_TCP_CLOSED &&
				      from != EPH_TCP_TIME_WAIT && from != EPH_TCP_RST &&
				      from != EPH_TCP_LAST_ACK_IN && from != EPH_TCP_LAST_ACK_OUT))
			return;
		end[dir] = e;
		*track = EPH_TCP_END_KNOWN(dir);
		set_scale(track, dir, syn_window_scale(tcp, l4_len));
		return;
	}
	/* A SYN-ACK answering the other side's SYN, acknowledging exactly it. */
	if (to != answered || !(*track & EPH_TCP_END_KNOWN(!dir)) ||
	    rte_be_to_cpu_32(tcp->recv_ack) != end[!dir])
		return;
	end[dir] = e;
	*track = (uint16_t)((*track & ~EPH_TCP_ACK_KEPT(dir)) | EPH_TCP_END_KNOWN(dir));
	set_scale(track, dir, syn_window_scale(tcp, l4_len));
}

const char *
eph_tcp_state_name(uint8_t state)
{
	static const char *const names[EPH_TCP_N_STATES] = {
		[EPH_TCP_CLOSED] = "closed",
		[EPH_TCP_SYN_SENT] = "syn-sent",
		[EPH_TCP_SYN_RCVD] = "syn-rcvd",
		[EPH_TCP_SYN_INBOUND] = "syn-inbound",
		[EPH_TCP_SYN_INBOUND_RCVD] = "syn-inbound-rcvd",
		[EPH_TCP_ESTABLISHED] = "established",
		[EPH_TCP_FIN_IN] = "fin-in",
		[EPH_TCP_FIN_OUT] = "fin-out",
		[EPH_TCP_LAST_ACK_IN] = "last-ack-in",
		[EPH_TCP_LAST_ACK_OUT] = "last-ack-out",
		[EPH_TCP_TIME_WAIT] = "time-wait",
		[EPH_TCP_RST] = "rst",
	};

	return state < EPH_TCP_N_STATES ? names[state] : "?";
}
