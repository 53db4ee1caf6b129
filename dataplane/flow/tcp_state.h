/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP session tracking for the NAT: which idle timeout applies (RFC 5382:
 * established >= 2 h 4 min, transitory >= 4 min; RFC 7857 sec. 2 asks
 * for a state machine, RFC 6146's, to decide it) and whether a connection closed
 * cleanly (RFC 6888 REQ-8: then its port may skip the quarantine).
 *
 * The state machine works on flags (sequence numbers serve only to judge
 * RSTs, see the tracking below), so it follows what each side has sent:
 *
 *   CLOSED --SYN in-->  SYN_SENT --SYN(-ACK) out--> SYN_RCVD --ACK in--> ESTABLISHED
 *   CLOSED --SYN out--> SYN_INBOUND --SYN(-ACK) in--> SYN_INBOUND_RCVD --ACK out--> ESTABLISHED
 *   ESTABLISHED --FIN in--> FIN_IN --FIN out--> LAST_ACK_IN  --ACK in-->  TIME_WAIT
 *   ESTABLISHED --FIN out--> FIN_OUT --FIN in--> LAST_ACK_OUT --ACK out--> TIME_WAIT
 *   any --RST--> RST
 *   TIME_WAIT, RST, LAST_ACK_* --SYN in--> SYN_SENT, --SYN out--> SYN_INBOUND
 *
 * Choices:
 * - Established needs the full handshake led by one side: the initiator's
 *   SYN, the answer's SYN (-ACK), then a non-SYN ACK from the initiator
 *   (or its FIN, which carries that ACK). Data before the handshake, a
 *   lone SYN from outside, or segments from the responder alone never
 *   establish. Retransmitted SYNs and SYN-ACKs leave the state alone.
 * - A session picked up mid-stream (no SYN seen) stays CLOSED: it keeps
 *   translating, on the transitory timeout, refreshed by traffic.
 * - One FIN (half close) keeps the established timeout (RFC 6146's
 *   "FIN RCV" states); from both FINs on, transitory.
 * - "Both FINs ACKed" = after both FINs, an ACK without FIN from the side
 *   that did not send the last FIN. A retransmitted FIN does not count.
 * - RST (one within the window, see below): RFC 7857 sec. 2 keeps the
 *   session for the transitory timeout (4 min) rather than removing it.
 *   Unlike RFC 6146's TRANS state, later data does not revive it to
 *   ESTABLISHED: a live connection that survived a stray RST keeps working
 *   while active, on the transitory timeout.
 * - A new SYN (no ACK) once both FINs or an RST were seen is a new
 *   connection reusing the 4-tuple (RFC 1122 4.2.2.13 lets a host reopen
 *   from TIME-WAIT): back to SYN_SENT / SYN_INBOUND, same translation.
 *   A SYN in any other state is ignored (retransmission or bogus).
 */
#ifndef EPH_TCP_STATE_H
#define EPH_TCP_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_tcp.h>

/* Direction of a packet through the NAT (the dir argument below). */
#define EPH_DIR_IN2OUT 0 /* inside -> outside */
#define EPH_DIR_OUT2IN 1 /* outside -> inside */

enum eph_tcp_state {
	EPH_TCP_CLOSED = 0,       /* created, no SYN seen (a new record is zeroed: CLOSED) */
	EPH_TCP_SYN_SENT,         /* inside sent SYN, no answer yet */
	EPH_TCP_SYN_RCVD,         /* ... outside answered (SYN-ACK); waiting for the inside's ACK */
	EPH_TCP_SYN_INBOUND,      /* outside sent SYN (inbound open), no answer yet */
	EPH_TCP_SYN_INBOUND_RCVD, /* ... inside answered; waiting for the outside's ACK */
	EPH_TCP_ESTABLISHED,
	EPH_TCP_FIN_IN,       /* inside sent FIN, outside has not */
	EPH_TCP_FIN_OUT,      /* outside sent FIN, inside has not */
	EPH_TCP_LAST_ACK_IN,  /* both FINs, outside's last: waiting for the inside's ACK */
	EPH_TCP_LAST_ACK_OUT, /* both FINs, inside's last: waiting for the outside's ACK */
	EPH_TCP_TIME_WAIT,    /* both FINs, the last one ACKed: clean close */
	EPH_TCP_RST,          /* reset seen */
	EPH_TCP_N_STATES
};

/* What a segment means to the tracker, from its flags. */
enum eph_tcp_event {
	EPH_TCP_EV_NONE,   /* no SYN/FIN/RST/ACK: ignored */
	EPH_TCP_EV_SYN,    /* SYN without ACK */
	EPH_TCP_EV_SYNACK, /* SYN with ACK */
	EPH_TCP_EV_FIN,    /* FIN (with or without ACK) */
	EPH_TCP_EV_ACK,    /* ACK without SYN, FIN or RST (data or pure ACK) */
	EPH_TCP_EV_RST,    /* RST, whatever else is set */
	EPH_TCP_N_EVENTS
};

enum eph_timeout_class {
	EPH_TO_TRANSITORY,  /* RFC 5382: >= 4 min */
	EPH_TO_ESTABLISHED, /* RFC 5382: >= 2 h 4 min */
};

/* next = eph_tcp_fsm[state][dir][event] (dataplane/flow/tcp_state.c). */
extern const uint8_t eph_tcp_fsm[EPH_TCP_N_STATES][2][EPH_TCP_N_EVENTS];

static inline enum eph_tcp_event
eph_tcp_event(uint8_t flags)
{
	if (flags & RTE_TCP_RST_FLAG)
		return EPH_TCP_EV_RST;
	if (flags & RTE_TCP_SYN_FLAG)
		return (flags & RTE_TCP_ACK_FLAG) ? EPH_TCP_EV_SYNACK : EPH_TCP_EV_SYN;
	if (flags & RTE_TCP_FIN_FLAG)
		return EPH_TCP_EV_FIN;
	if (flags & RTE_TCP_ACK_FLAG)
		return EPH_TCP_EV_ACK;
	return EPH_TCP_EV_NONE;
}

/* State after a segment with TCP flags byte flags in direction dir (EPH_DIR_*). */
static inline uint8_t
eph_tcp_next_state(uint8_t state, uint8_t flags, int dir)
{
	if (state >= EPH_TCP_N_STATES)
		return state;
	return eph_tcp_fsm[state][dir & 1][eph_tcp_event(flags)];
}

static inline enum eph_timeout_class
eph_tcp_timeout_class(uint8_t state)
{
	const uint32_t established =
		(1u << EPH_TCP_ESTABLISHED) | (1u << EPH_TCP_FIN_IN) | (1u << EPH_TCP_FIN_OUT);

	return state < 32 && (established & (1u << state)) ? EPH_TO_ESTABLISHED : EPH_TO_TRANSITORY;
}

/* Both FINs seen and the last one ACKed: the port may skip the quarantine. */
static inline bool
eph_tcp_closed_cleanly(uint8_t state)
{
	return state == EPH_TCP_TIME_WAIT;
}

/* "established", "syn-sent", ...; "?" when out of range. */
const char *eph_tcp_state_name(uint8_t state);

/*
 * Sequence tracking, as far as telling a RST in the window from a blind one
 * needs (RFC 5961 sec. 3, in the manner of conntrack's window tracking;
 * flags alone would let any spoofed RST end a connection). Per direction
 * (EPH_DIR_*): end[dir], the end of the sequence space that side has used
 * (seq + payload + SYN + FIN, the furthest seen), and the window scale it
 * announced in its SYN (RFC 7323: in force only if both sides announced
 * one). W(dir) = 65535 << scale(dir) is the largest receive window side
 * dir can offer: 64 KiB unscaled, 8 MiB at Linux's default scale 7.
 *
 * - A RST from side d is accepted when its sequence number lies within
 *   W(other) of end[d] (a blind one hits with probability 2W / 2^32);
 *   before d has sent anything, only as the answer to the other side's SYN:
 *   with ACK, acknowledging exactly end[other] (RFC 793, SYN-SENT).
 * - A segment from a side that has not sent within the tracked connection
 *   (typically a peer with stale state answering a SYN that reuses the
 *   4-tuple with its old connection's ACK) is not tracked, but its ACK
 *   number is kept: the other side answers it with a RST carrying exactly
 *   that number (RFC 793), which clears the stale state and must pass.
 * - A segment moves end[d] forward only from within that window, so spoofed
 *   segments cannot drag the window to where a spoofed RST would fit.
 * - A SYN that (re)opens the connection starts both sides afresh; the
 *   answering SYN-ACK sets its side when it acknowledges that SYN.
 *
 * State (the session's tcp_track; a new record is zero: nothing known):
 */
#define EPH_TCP_END_KNOWN(dir)  (1u << (dir))             /* end[dir] holds a value */
#define EPH_TCP_WS_SEEN(dir)    (1u << (2 + (dir)))       /* side dir announced a scale */
#define EPH_TCP_WS_SHIFT(dir)   (4 + 4 * (dir))           /* ... which sits in these 4 bits */
#define EPH_TCP_WS_MAX          14                        /* RFC 7323 sec. 2.3 */
#define EPH_TCP_ACK_KEPT(dir)   (1u << (12 + (dir)))      /* end[dir]: an untracked ACK of dir's */

static inline uint32_t
eph_tcp_seq(const struct rte_tcp_hdr *tcp)
{
	return rte_be_to_cpu_32(tcp->sent_seq);
}

/* Sequence space a segment uses: payload, plus one each for SYN and FIN. */
static inline uint32_t
eph_tcp_seg_len(const struct rte_tcp_hdr *tcp, uint16_t l4_len)
{
	uint16_t hlen = (uint16_t)((tcp->data_off >> 4) * 4);

	return (hlen <= l4_len ? (uint32_t)(l4_len - hlen) : 0) +
	       !!(tcp->tcp_flags & RTE_TCP_SYN_FLAG) + !!(tcp->tcp_flags & RTE_TCP_FIN_FLAG);
}

/* W(dir): the largest receive window side dir can offer. */
static inline uint32_t
eph_tcp_max_window(uint16_t track, int dir)
{
	const uint16_t both = EPH_TCP_WS_SEEN(0) | EPH_TCP_WS_SEEN(1);
	unsigned int scale = (track & both) == both ? (track >> EPH_TCP_WS_SHIFT(dir)) & 0xf : 0;

	return (uint32_t)UINT16_MAX << scale;
}

/* Whether seq lies within W(other) of end[dir] (modulo 2^32). */
static inline bool
eph_tcp_in_window(const uint32_t end[2], uint16_t track, int dir, uint32_t seq)
{
	uint32_t w = eph_tcp_max_window(track, !dir);
	uint32_t d = seq - end[dir];

	return d <= w || -d <= w;
}

/* Whether a RST segment from side dir is in the window (see above). */
static inline bool
eph_tcp_rst_acceptable(const uint32_t end[2], uint16_t track, const struct rte_tcp_hdr *tcp,
		       int dir)
{
	if ((track & EPH_TCP_ACK_KEPT(!dir)) && eph_tcp_seq(tcp) == end[!dir])
		return true;
	if (track & EPH_TCP_END_KNOWN(dir))
		return eph_tcp_in_window(end, track, dir, eph_tcp_seq(tcp));
	if (track & EPH_TCP_END_KNOWN(!dir))
		return (tcp->tcp_flags & RTE_TCP_ACK_FLAG) &&
		       rte_be_to_cpu_32(tcp->recv_ack) == end[!dir];
	return true; /* nothing to judge by: no SYN was seen (not made by the NAT) */
}

/* A segment other than SYN or RST from side dir: end[dir] moves forward from within the window. */
static inline void
eph_tcp_track(uint32_t end[2], uint16_t *track, const struct rte_tcp_hdr *tcp, uint16_t l4_len,
	      int dir)
{
	uint32_t seq = eph_tcp_seq(tcp), e;

	if (unlikely(!(*track & EPH_TCP_END_KNOWN(dir)))) {
		if (tcp->tcp_flags & RTE_TCP_ACK_FLAG) {
			end[dir] = rte_be_to_cpu_32(tcp->recv_ack);
			*track = (uint16_t)(*track | EPH_TCP_ACK_KEPT(dir));
		}
		return;
	}
	if (!eph_tcp_in_window(end, *track, dir, seq))
		return;
	e = seq + eph_tcp_seg_len(tcp, l4_len);
	if ((int32_t)(e - end[dir]) > 0)
		end[dir] = e;
}

/*
 * A SYN or SYN-ACK from side dir that took the connection from state `from`
 * to `to`: a (re)opening SYN starts tracking afresh, an answering SYN-ACK
 * sets its side (dataplane/flow/tcp_state.c).
 */
void eph_tcp_track_syn(uint32_t end[2], uint16_t *track, const struct rte_tcp_hdr *tcp,
		       uint16_t l4_len, int dir, uint8_t from, uint8_t to);

#endif /* EPH_TCP_STATE_H */
