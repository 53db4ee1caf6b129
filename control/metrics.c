/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Prometheus text exposition (format 0.0.4) of the daemon's counters:
 * per-worker packets and drops, drops by reason, ports, sessions by
 * protocol and state, ports in use and refusals per pool address, NAT
 * events, log losses. Served by `ephctl metrics` and the optional HTTP
 * endpoint; rendered on the control lcore.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_cycles.h>

#include "control/ctl_cmds.h"
#include "control/reconfig.h"
#include "control/stats.h"
#include "dataplane/flow/session.h"
#include "dataplane/flow/tcp_state.h"

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *
ip(uint32_t be, char *buf)
{
	return eph_ip_str(be, buf, INET_ADDRSTRLEN);
}

static void
render_workers(FILE *f, const struct eph_dp *dp)
{
	family(f, "ephemera_worker_rx_packets_total", "counter", "Packets received by a worker.");
	for (unsigned int w = 0; w < dp->n_workers; w++)
		fprintf(f, "ephemera_worker_rx_packets_total{worker=\"%u\"} %" PRIu64 "\n", w,
			dp->workers[w]->stats.rx);
	family(f, "ephemera_worker_tx_packets_total", "counter", "Packets sent by a worker.");
	for (unsigned int w = 0; w < dp->n_workers; w++)
		fprintf(f, "ephemera_worker_tx_packets_total{worker=\"%u\"} %" PRIu64 "\n", w,
			eph_counters_tx(&dp->workers[w]->stats));
	family(f, "ephemera_worker_drops_total", "counter", "Packets a worker dropped, all reasons.");
	for (unsigned int w = 0; w < dp->n_workers; w++)
		fprintf(f, "ephemera_worker_drops_total{worker=\"%u\"} %" PRIu64 "\n", w,
			eph_counters_drops(&dp->workers[w]->stats));
	family(f, "ephemera_worker_busy_polls_total", "counter",
	       "Polls that received packets (against ephemera_worker_polls_total: load).");
	for (unsigned int w = 0; w < dp->n_workers; w++)
		fprintf(f, "ephemera_worker_busy_polls_total{worker=\"%u\"} %" PRIu64 "\n", w,
			dp->workers[w]->stats.busy_polls);
	family(f, "ephemera_worker_polls_total", "counter", "Polls of every port's queue.");
	for (unsigned int w = 0; w < dp->n_workers; w++)
		fprintf(f, "ephemera_worker_polls_total{worker=\"%u\"} %" PRIu64 "\n", w,
			dp->workers[w]->stats.polls);
	family(f, "ephemera_worker_mss_clamped_total", "counter",
	       "TCP SYNs whose MSS option a worker lowered (ports[].mss-clamp).");
	for (unsigned int w = 0; w < dp->n_workers; w++)
		fprintf(f, "ephemera_worker_mss_clamped_total{worker=\"%u\"} %" PRIu64 "\n", w,
			dp->workers[w]->stats.mss_clamped);
}

static void
render_ports(FILE *f, const struct eph_dp *dp, const struct eph_counters *t)
{
	family(f, "ephemera_port_rx_packets_total", "counter", "Packets received on a port.");
	for (unsigned int p = 0; p < dp->n_ports; p++)
		fprintf(f, "ephemera_port_rx_packets_total{port=\"%s\"} %" PRIu64 "\n",
			dp->ports[p].name, t->port[p].rx);
	family(f, "ephemera_port_tx_packets_total", "counter", "Packets sent on a port.");
	for (unsigned int p = 0; p < dp->n_ports; p++)
		fprintf(f, "ephemera_port_tx_packets_total{port=\"%s\"} %" PRIu64 "\n",
			dp->ports[p].name, t->port[p].tx);
	family(f, "ephemera_port_kernel_packets_total", "counter",
	       "Packets between a port and its kernel interface (ports[].kernel-interface).");
	for (unsigned int p = 0; p < dp->n_ports; p++) {
		if (!dp->ports[p].has_kernel)
			continue;
		fprintf(f, "ephemera_port_kernel_packets_total{port=\"%s\",direction=\"to_kernel\"} "
			   "%" PRIu64 "\n", dp->ports[p].name, t->port[p].to_kernel);
		fprintf(f, "ephemera_port_kernel_packets_total{port=\"%s\",direction=\"from_kernel\"} "
			   "%" PRIu64 "\n", dp->ports[p].name, t->port[p].from_kernel);
	}
}

static void
render_nat(FILE *f, const struct eph_ctl_ctx *ctx, const struct eph_counters *t)
{
	const struct eph_dp *dp = ctx->dp;
	const struct eph_nat_cfg *nat = &dp->cfg->nat;
	struct eph_nat_worker_stats nt;
	const uint64_t *tcp = nt.sessions_tcp, *ctr = nt.ctr;
	uint64_t udp, icmp, lost, suppressed, on_loan, borrowed;
	char a[INET_ADDRSTRLEN];

	eph_stats_nat_total(dp, NULL, &nt);
	udp = nt.sessions_udp;
	icmp = nt.sessions_icmp;
	lost = nt.log_lost;
	suppressed = nt.alerts_suppressed;
	on_loan = nt.ports_on_loan;
	borrowed = nt.borrowed_live;
	family(f, "ephemera_nat_sessions", "gauge", "Live NAT sessions by protocol and state.");
	for (unsigned int s = 0; s < EPH_TCP_N_STATES; s++)
		fprintf(f, "ephemera_nat_sessions{proto=\"tcp\",state=\"%s\"} %" PRId64 "\n",
			eph_tcp_state_name((uint8_t)s), (int64_t)tcp[s]);
	fprintf(f, "ephemera_nat_sessions{proto=\"udp\",state=\"active\"} %" PRId64 "\n",
		(int64_t)udp);
	fprintf(f, "ephemera_nat_sessions{proto=\"icmp\",state=\"active\"} %" PRId64 "\n",
		(int64_t)icmp);
	for (unsigned int c = 0; c < EPH_NAT_CTR_MAX; c++) {
		char name[96];

		snprintf(name, sizeof(name), "ephemera_nat_%s_total", eph_nat_counter_names[c]);
		family(f, name, "counter", eph_nat_counter_descs[c]);
		fprintf(f, "%s %" PRIu64 "\n", name, ctr[c]);
	}
	family(f, "ephemera_nat_ports_on_loan", "gauge",
	       "Ports of a worker's share lent to another worker's hosts and not back yet.");
	fprintf(f, "ephemera_nat_ports_on_loan %" PRIu64 "\n", on_loan);
	family(f, "ephemera_nat_borrowed_sessions", "gauge",
	       "Sessions and mappings on ports borrowed from another worker's share.");
	fprintf(f, "ephemera_nat_borrowed_sessions %" PRIu64 "\n", borrowed);
	family(f, "ephemera_nat_ports_in_use", "gauge",
	       "Outside ports held by sessions, per pool and outside address.");
	for (unsigned int p = 0; p < nat->n_slots; p++)
		for (unsigned int i = 0; i < nat->pools[p].n_all; i++) {
			struct eph_pool_addr_stats st;

			eph_stats_pool_addr(dp, p, nat->pools[p].all[i].slot, &st);
			fprintf(f, "ephemera_nat_ports_in_use{pool=\"%s\",address=\"%s\"} %" PRIu64 "\n",
				nat->pools[p].name, ip(nat->pools[p].all[i].addr, a), st.in_use);
		}
	family(f, "ephemera_nat_allocation_failures_total", "counter",
	       "Sessions refused, by reason (the drop counters nat_exhausted, nat_host_limit, "
	       "nat_table_full).");
	fprintf(f, "ephemera_nat_allocation_failures_total{reason=\"no_port\"} %" PRIu64 "\n",
		t->drop[EPH_DROP_nat_exhausted]);
	fprintf(f, "ephemera_nat_allocation_failures_total{reason=\"host_limit\"} %" PRIu64 "\n",
		t->drop[EPH_DROP_nat_host_limit]);
	fprintf(f, "ephemera_nat_allocation_failures_total{reason=\"table_full\"} %" PRIu64 "\n",
		t->drop[EPH_DROP_nat_table_full]);
	family(f, "ephemera_nat_address_refusals_total", "counter",
	       "Allocations refused for want of a port, per pool and outside address tried.");
	for (unsigned int p = 0; p < nat->n_slots; p++)
		for (unsigned int i = 0; i < nat->pools[p].n_all; i++) {
			struct eph_pool_addr_stats st;

			eph_stats_pool_addr(dp, p, nat->pools[p].all[i].slot, &st);
			fprintf(f, "ephemera_nat_address_refusals_total{pool=\"%s\",address=\"%s\"} "
				   "%" PRIu64 "\n",
				nat->pools[p].name, ip(nat->pools[p].all[i].addr, a), st.exhausted);
		}
	family(f, "ephemera_nat_occupancy_warnings_total", "counter",
	       "Destinations whose port share crossed warn-occupancy, per pool and address.");
	for (unsigned int p = 0; p < nat->n_slots; p++)
		for (unsigned int i = 0; i < nat->pools[p].n_all; i++) {
			struct eph_pool_addr_stats st;

			eph_stats_pool_addr(dp, p, nat->pools[p].all[i].slot, &st);
			fprintf(f, "ephemera_nat_occupancy_warnings_total{pool=\"%s\",address=\"%s\"} "
				   "%" PRIu64 "\n",
				nat->pools[p].name, ip(nat->pools[p].all[i].addr, a), st.warnings);
		}
	family(f, "ephemera_nat_alerts_total", "counter",
	       "Occupancy alerts logged by the daemon, by kind.");
	fprintf(f, "ephemera_nat_alerts_total{kind=\"occupancy\"} %" PRIu64 "\n",
		ctx->alerts ? ctx->alerts->occupancy : 0);
	fprintf(f, "ephemera_nat_alerts_total{kind=\"exhausted\"} %" PRIu64 "\n",
		ctx->alerts ? ctx->alerts->exhausted : 0);
	fprintf(f, "ephemera_nat_alerts_total{kind=\"suppressed\"} %" PRIu64 "\n", suppressed);
	family(f, "ephemera_nat_log_events_lost_total", "counter",
	       "NAT log events dropped because a worker's ring was full.");
	fprintf(f, "ephemera_nat_log_events_lost_total %" PRIu64 "\n", lost);
}

/* The half-open connections of each VIP (SYN flood guard), and those a new SYN replaced. */
static void
render_lb_vips_half_open(FILE *f, const struct eph_lb_cfg *lb, const struct eph_lb_vip_totals *st)
{
	family(f, "ephemera_lb_vip_half_open_connections", "gauge",
	       "Connections of a VIP whose TCP handshake has not completed.");
	for (unsigned int i = 0; i < lb->n_vips; i++)
		fprintf(f, "ephemera_lb_vip_half_open_connections{vip=\"%s\"} %" PRIu64 "\n",
			lb->vips[i].name, st[i].half_open);
	family(f, "ephemera_lb_vip_half_open_replaced_total", "counter",
	       "Half-open connections a VIP ended for a new SYN at half-open-per-worker.");
	for (unsigned int i = 0; i < lb->n_vips; i++)
		fprintf(f, "ephemera_lb_vip_half_open_replaced_total{vip=\"%s\"} %" PRIu64 "\n",
			lb->vips[i].name, st[i].half_open_replaced);
}

/* Per VIP, each family's samples together. */
static void
render_lb_vips(FILE *f, const struct eph_dp *dp, const struct eph_lb_cfg *lb)
{
	static const char *const reasons[] = { "no_backend", "over_limit", "no_port",
					       "rate_limited" };
	struct eph_lb_vip_totals *st = calloc(lb->n_vips + 1, sizeof(*st));

	if (st == NULL)
		return;
	for (unsigned int i = 0; i < lb->n_vips; i++)
		eph_stats_lb_vip(dp, &lb->vips[i], &st[i]);
	family(f, "ephemera_lb_vip_connections", "gauge", "Live connections of a VIP.");
	for (unsigned int i = 0; i < lb->n_vips; i++)
		fprintf(f, "ephemera_lb_vip_connections{vip=\"%s\"} %" PRIu64 "\n",
			lb->vips[i].name, st[i].active);
	family(f, "ephemera_lb_vip_connections_total", "counter", "Connections a VIP opened.");
	for (unsigned int i = 0; i < lb->n_vips; i++)
		fprintf(f, "ephemera_lb_vip_connections_total{vip=\"%s\"} %" PRIu64 "\n",
			lb->vips[i].name, st[i].total);
	family(f, "ephemera_lb_vip_refused_total", "counter",
	       "New connections a VIP refused: no backend, over max-connections, no local port, "
	       "over new-connections-per-s.");
	for (unsigned int i = 0; i < lb->n_vips; i++) {
		const uint64_t n[] = { st[i].no_backend, st[i].over_limit, st[i].no_port,
				       st[i].rate_limited };

		for (unsigned int r = 0; r < RTE_DIM(reasons); r++)
			fprintf(f,
				"ephemera_lb_vip_refused_total{vip=\"%s\",reason=\"%s\"} %" PRIu64
				"\n",
				lb->vips[i].name, reasons[r], n[r]);
	}
	render_lb_vips_half_open(f, lb, st);
	free(st);
}

/* Per backend of every VIP (removed ones still draining too), each family's samples together. */
static void
render_lb_backends(FILE *f, const struct eph_dp *dp, const struct eph_lb_cfg *lb)
{
	struct eph_health_status *hs;
	struct eph_lb_backend_stats *st;
	char (*labels)[160];
	const char **state;
	unsigned int n = 0, k = 0;

	for (unsigned int i = 0; i < lb->n_vips; i++)
		n += lb->vips[i].n_backends;
	st = calloc(n + 1, sizeof(*st));
	labels = calloc(n + 1, sizeof(*labels));
	state = calloc(n + 1, sizeof(*state));
	hs = calloc(n + 1, sizeof(*hs));
	if (st == NULL || labels == NULL || state == NULL || hs == NULL)
		goto out;
	for (unsigned int i = 0; i < lb->n_vips; i++) {
		const struct eph_lb_vip *v = &lb->vips[i];

		for (unsigned int b = 0; b < v->n_backends; b++, k++) {
			char a[INET_ADDRSTRLEN];

			eph_stats_lb_backend(dp, v, &v->backends[b], &st[k]);
			eph_stats_lb_health(dp, v, &v->backends[b], &hs[k]);
			state[k] = eph_lb_backend_state_name(&v->backends[b]);
			snprintf(labels[k], sizeof(labels[k]), "vip=\"%s\",backend=\"%s:%u\"",
				 v->name, ip(v->backends[b].addr, a),
				 rte_be_to_cpu_16(v->backends[b].port));
		}
	}
	family(f, "ephemera_lb_backend_connections", "gauge",
	       "Live connections of a backend, with its state (active, draining, down, removed).");
	for (k = 0; k < n; k++)
		fprintf(f, "ephemera_lb_backend_connections{%s,state=\"%s\"} %" PRIu64 "\n",
			labels[k], state[k], st[k].active);
	family(f, "ephemera_lb_backend_connections_total", "counter", "Connections a backend got.");
	for (k = 0; k < n; k++)
		fprintf(f, "ephemera_lb_backend_connections_total{%s} %" PRIu64 "\n", labels[k],
			st[k].total);
	family(f, "ephemera_lb_backend_packets_total", "counter", "Packets to and from a backend.");
	for (k = 0; k < n; k++)
		fprintf(f,
			"ephemera_lb_backend_packets_total{%s,direction=\"to_backend\"} %" PRIu64
			"\n"
			"ephemera_lb_backend_packets_total{%s,direction=\"from_backend\"} %" PRIu64
			"\n",
			labels[k], st[k].pkts_to, labels[k], st[k].pkts_from);
	family(f, "ephemera_lb_backend_bytes_total", "counter", "Bytes to and from a backend.");
	for (k = 0; k < n; k++)
		fprintf(f,
			"ephemera_lb_backend_bytes_total{%s,direction=\"to_backend\"} %" PRIu64 "\n"
			"ephemera_lb_backend_bytes_total{%s,direction=\"from_backend\"} %" PRIu64
			"\n",
			labels[k], st[k].bytes_to, labels[k], st[k].bytes_from);
	family(f, "ephemera_lb_backend_up", "gauge",
	       "1 while a backend passes its health checks (or has none) and is not ejected.");
	for (k = 0; k < n; k++)
		fprintf(f, "ephemera_lb_backend_up{%s} %d\n", labels[k], hs[k].up ? 1 : 0);
	family(f, "ephemera_lb_backend_health_checks_total", "counter",
	       "Active health checks of a backend, by result.");
	for (k = 0; k < n; k++)
		fprintf(f,
			"ephemera_lb_backend_health_checks_total{%s,result=\"pass\"} %" PRIu64 "\n"
			"ephemera_lb_backend_health_checks_total{%s,result=\"fail\"} %" PRIu64 "\n",
			labels[k], hs[k].checks - hs[k].failed, labels[k], hs[k].failed);
	family(f, "ephemera_lb_backend_health_check_latency_seconds", "gauge",
	       "Time the last passing health check of a backend took.");
	for (k = 0; k < n; k++)
		fprintf(f, "ephemera_lb_backend_health_check_latency_seconds{%s} %.6f\n", labels[k],
			hs[k].latency_us / 1e6);
	family(f, "ephemera_lb_backend_transitions_total", "counter",
	       "A backend's health transitions, to down and back up.");
	for (k = 0; k < n; k++)
		fprintf(f,
			"ephemera_lb_backend_transitions_total{%s,to=\"down\"} %" PRIu64 "\n"
			"ephemera_lb_backend_transitions_total{%s,to=\"up\"} %" PRIu64 "\n",
			labels[k], hs[k].downs, labels[k], hs[k].ups);
	family(f, "ephemera_lb_backend_connect_failures_total", "counter",
	       "New connections a backend refused (RST to SYN) or did not answer (passive detection).");
	for (k = 0; k < n; k++)
		fprintf(f, "ephemera_lb_backend_connect_failures_total{%s} %" PRIu64 "\n", labels[k],
			st[k].connect_failures);
out:
	free(st);
	free(labels);
	free(state);
	free(hs);
}

/* The balancer: totals, per VIP, per backend (labels: names and addresses, nothing to escape). */
static void
render_lb(FILE *f, const struct eph_dp *dp)
{
	const struct eph_lb_cfg *lb = dp->cfg->lb;
	struct eph_lb_totals tot;

	eph_stats_lb_total(dp, &tot);
	family(f, "ephemera_lb_connections", "gauge", "Live balancer connections by protocol.");
	fprintf(f, "ephemera_lb_connections{proto=\"tcp\"} %" PRIu64 "\n", tot.connections_tcp);
	fprintf(f, "ephemera_lb_connections{proto=\"udp\"} %" PRIu64 "\n", tot.connections_udp);
	for (unsigned int c = 0; c < EPH_LB_CTR_MAX; c++) {
		char name[96];

		snprintf(name, sizeof(name), "ephemera_lb_%s_total", eph_lb_counter_names[c]);
		family(f, name, "counter", eph_lb_counter_descs[c]);
		fprintf(f, "%s %" PRIu64 "\n", name, tot.ctr[c]);
	}
	if (lb == NULL)
		return;
	render_lb_vips(f, dp, lb);
	render_lb_backends(f, dp, lb);
}

char *
eph_metrics_render(const struct eph_ctl_ctx *ctx)
{
	const struct eph_dp *dp = ctx->dp;
	struct eph_counters t;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	eph_stats_total(dp, &t);
	family(f, "ephemera_info", "gauge", "Version of the running daemon.");
	fprintf(f, "ephemera_info{version=\"%s\"} 1\n", EPH_VERSION);
	family(f, "ephemera_uptime_seconds", "gauge", "Seconds since start.");
	fprintf(f, "ephemera_uptime_seconds %" PRIu64 "\n",
		(rte_rdtsc() - ctx->start_tsc) / rte_get_tsc_hz());
	family(f, "ephemera_config_generation", "gauge", "Configurations applied since start.");
	fprintf(f, "ephemera_config_generation %" PRIu64 "\n", dp->rc->generation);
	render_workers(f, dp);
	render_ports(f, dp, &t);
	family(f, "ephemera_drops_total", "counter", "Packets dropped, by reason.");
	for (unsigned int i = 0; i < EPH_DROP_MAX; i++)
		fprintf(f, "ephemera_drops_total{reason=\"%s\"} %" PRIu64 "\n", eph_drop_names[i],
			t.drop[i]);
	if (dp->nat.enabled) {
		render_nat(f, ctx, &t);
		render_lb(f, dp);
	}
	if (ctx->server != NULL) {
		const struct eph_ctl_server_stats *st = eph_ctl_server_stats(ctx->server);

		family(f, "ephemera_control_requests_total", "counter", "Control socket requests.");
		fprintf(f, "ephemera_control_requests_total %" PRIu64 "\n", st->requests);
		family(f, "ephemera_control_errors_total", "counter",
		       "Control socket requests answered with an error.");
		fprintf(f, "ephemera_control_errors_total %" PRIu64 "\n", st->errors);
		family(f, "ephemera_control_clients", "gauge", "Control socket clients connected.");
		fprintf(f, "ephemera_control_clients %u\n", st->clients);
		family(f, "ephemera_control_buffered_bytes", "gauge",
		       "Control socket answers not yet read and memory held by worker requests.");
		fprintf(f, "ephemera_control_buffered_bytes %" PRIu64 "\n", st->buffered_bytes);
		family(f, "ephemera_control_refused_total", "counter",
		       "Control socket answers refused for memory: too-large (over the client's "
		       "cap) or busy (over the total).");
		fprintf(f, "ephemera_control_refused_total{reason=\"too-large\"} %" PRIu64 "\n",
			st->refused_too_large);
		fprintf(f, "ephemera_control_refused_total{reason=\"busy\"} %" PRIu64 "\n",
			st->refused_busy);
		family(f, "ephemera_control_requests_pending", "gauge",
		       "Control socket requests waiting for the workers.");
		fprintf(f, "ephemera_control_requests_pending %u\n", st->jobs);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
