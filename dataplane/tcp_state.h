/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TCP session tracking for the NAT: which idle timeout applies (RFC 5382:
 * established >= 2 h 4 min, transitory >= 4 min; RFC 7857 sec. 2 asks
 * for a state machine, RFC 6146's, to decide it) and whether a connection closed
 * cleanly (RFC 6888 REQ-8: then its port may skip the quarantine).
 *
 * The NAT sees flags only, not sequence numbers, so it tracks what each
 * side has sent:
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
 * - RST: RFC 7857 sec. 2 keeps the session for the transitory timeout
 *   (4 min) rather than removing it. Unlike RFC 6146's TRANS state, later
 *   data does not revive it to ESTABLISHED: a live connection that survived
 *   a stray RST keeps working while active, on the transitory timeout.
 * - A new SYN (no ACK) once both FINs or an RST were seen is a new
 *   connection reusing the 4-tuple (RFC 1122 4.2.2.13 lets a host reopen
 *   from TIME-WAIT): back to SYN_SENT / SYN_INBOUND, same translation.
 *   A SYN in any other state is ignored (retransmission or bogus).
 */
#ifndef EPH_TCP_STATE_H
#define EPH_TCP_STATE_H

#include <stdbool.h>
#include <stdint.h>

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

/* next = eph_tcp_fsm[state][dir][event] (dataplane/tcp_state.c). */
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

#endif /* EPH_TCP_STATE_H */
