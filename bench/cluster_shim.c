/*
 * cluster_shim.c: the fleet's inside for cluster_bench.cc (cluster_shim.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cluster_shim.h"
#include "sc_internal.h"
#include "sc_replica.h"

struct scb_fleet {
    sc_fleet *fleet;
    sc_table *local;
    sc_view view;
    uint8_t key[16];
    sc_wire_writer w[2];         /* apply: close all, open all */
    sc_wire_batch b[2];
    uint64_t seq;
};

static const sc_table *view_table(const void *arg)
{
    const scb_fleet *f = arg;
    return sc_fleet_table(f->fleet);
}

static void view_leave(void *arg) { (void)arg; }

/* A full state (or delta) of addrs[first], addrs[first + step]... with
 * `count` each, applied to origin `name`, or kept parsed in *keep. */
static int batch(scb_fleet *f, sc_wire_writer *w, int kind, uint64_t seq, const sc_addr *addrs,
                 size_t n, size_t first, size_t step, int32_t count, sc_wire_batch *out)
{
    const uint8_t *bytes;
    size_t len, off;
    if (sc_wire_begin(w, kind, 1, seq) != SC_OK) return -1;
    for (size_t i = first; i < n; i += step)
        if (sc_wire_add(w, &addrs[i], count) != SC_OK) return -1;
    if (sc_wire_finish(w, f->key, &bytes, &len) != SC_OK) return -1;
    return sc_wire_parse(f->key, bytes, len, out, &off) == SC_WIRE_OK ? 0 : -1;
}

static scb_fleet *fresh(void)
{
    scb_fleet *f = calloc(1, sizeof *f);
    if (!f || sc_fleet_new(&f->fleet) != SC_OK) {
        free(f);
        return NULL;
    }
    sc_wire_key("bench", 5, f->key);
    return f;
}

scb_fleet *scb_fleet_build(sc_table *local, const sc_addr *addrs, size_t n, unsigned nodes)
{
    scb_fleet *f = fresh();
    if (!f) return NULL;
    f->local = local;
    for (size_t i = 0; i < n; i += nodes)
        if (sc_open(local, &addrs[i], SC_SERVICE_SMTP) != SC_OK) goto fail;
    for (unsigned k = 1; k < nodes; k++) {
        char name[8] = {'n', (char)('0' + k), 0};
        sc_wire_batch b;
        if (batch(f, &f->w[0], SC_WIRE_FULL, 0, addrs, n, k, nodes, 1, &b) != 0 ||
            sc_fleet_apply(f->fleet, name, 2, &b) != SC_APPLY_OK)
            goto fail;
    }
    f->view = (sc_view){.table = view_table, .leave = view_leave, .arg = f};
    if (sc_table_attach_view(local, &f->view) != SC_OK) goto fail;
    return f;
fail:
    f->local = NULL;
    scb_fleet_free(f);
    return NULL;
}

void scb_fleet_free(scb_fleet *f)
{
    if (!f) return;
    if (f->local) sc_table_detach_view(f->local);
    sc_fleet_free(f->fleet);
    sc_wire_free(&f->w[0]);
    sc_wire_free(&f->w[1]);
    free(f);
}

scb_fleet *scb_apply_setup(const sc_addr *addrs, size_t n)
{
    scb_fleet *f = fresh();
    sc_wire_batch full;
    sc_wire_writer w = {0};
    if (!f) return NULL;
    int bad = batch(f, &w, SC_WIRE_FULL, 0, addrs, n, 0, 1, 1, &full) != 0 ||
              sc_fleet_apply(f->fleet, "x", 1, &full) != SC_APPLY_OK ||
              batch(f, &f->w[0], SC_WIRE_DELTA, 1, addrs, n, 0, 1, -1, &f->b[0]) != 0 ||
              batch(f, &f->w[1], SC_WIRE_DELTA, 2, addrs, n, 0, 1, 1, &f->b[1]) != 0;
    sc_wire_free(&w);
    if (bad) {
        scb_fleet_free(f);
        return NULL;
    }
    return f;
}

size_t scb_apply_next(scb_fleet *f)
{
    sc_wire_batch b = f->b[f->seq % 2];
    b.seq = ++f->seq;   /* parsed once; the replica takes the header's numbers */
    return sc_fleet_apply(f->fleet, "x", 1, &b) == SC_APPLY_OK ? b.nrec : 0;
}
