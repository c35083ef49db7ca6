/*
** mt_bench.c: what a connect decision costs inside sesscount-milter, with
** no MTA: the path of the milter's connect callback (open the session,
** note the connection, run the policy's validate_connect in this thread's
** Lua state) and of its close, on T threads at once, each connection from
** its own address of 10.0.0.0/8 (and of 2001:db8::/32 for one in four).
**
**   mt_bench POLICY.lua [THREADS [CONNECTIONS]]   (defaults 2, 200000)
**
** Prints one JSON object: p50 / p99 / mean ns of the decision and of the
** close, and decisions per second per thread.  scripts/bench runs it with
** the default policy (milter/default-policy.lua) as milter/connect_decision.
*/

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt.h"


typedef struct worker {
  int id;
  long n;
  uint64_t *decide, *close;
  int failures;
} worker;


static int cmp (const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}


static void *work (void *arg) {
  worker *w = (worker *)arg;
  long i;
  for (i = 0; i < w->n; i++) {
    mt_session s;
    mt_reply r;
    uint64_t t0, t1, t2;
    memset(&s, 0, sizeof s);
    s.haspeer = true;
    if (i % 4 == 3) {
      static const uint8_t p[4] = {0x20, 0x01, 0x0d, 0xb8};
      s.peer.family = SC_INET6;
      memcpy(s.peer.bytes, p, 4);
      s.peer.bytes[5] = (uint8_t)w->id;
      memcpy(s.peer.bytes + 8, &i, sizeof i);
      snprintf(s.ip, sizeof s.ip, "2001:db8:0:%x::%lx", w->id, i);
    } else {
      s.peer.family = SC_INET4;
      s.peer.bytes[0] = 10;
      s.peer.bytes[1] = (uint8_t)w->id;
      s.peer.bytes[2] = (uint8_t)(i >> 8);
      s.peer.bytes[3] = (uint8_t)i;
      snprintf(s.ip, sizeof s.ip, "10.%d.%ld.%ld", w->id, (i >> 8) & 255, i & 255);
    }
    t0 = mt_now_ns();
    if (sc_open(mt_table, &s.peer, mt_smtp) != SC_OK) w->failures++;
    (void)sc_table_note(mt_table, SC_EVENT_CONNECTION, &s.peer, 1, SC_NOW);
    mt_policy_run(&s, MT_CONNECT, NULL, &r);
    t1 = mt_now_ns();
    if (sc_close(mt_table, &s.peer, mt_smtp) != SC_OK) w->failures++;
    t2 = mt_now_ns();
    if (r.error || r.refuse) w->failures++;
    w->decide[i] = t1 - t0;
    w->close[i] = t2 - t1;
  }
  return NULL;
}


static void report (const char *name, uint64_t *v, long n) {
  double sum = 0;
  long i;
  qsort(v, (size_t)n, sizeof *v, cmp);
  for (i = 0; i < n; i++) sum += (double)v[i];
  printf("  \"%s\": {\"p50_ns\": %llu, \"p99_ns\": %llu, \"mean_ns\": %.0f}", name,
         (unsigned long long)v[n / 2], (unsigned long long)v[(long)((double)n * 0.99)], sum / (double)n);
}


int main (int argc, char **argv) {
  mt_config c;
  char err[512], *pol;
  int threads = argc > 2 ? atoi(argv[2]) : 2, t, failures = 0;
  long n = argc > 3 ? atol(argv[3]) : 200000;
  worker *w;
  pthread_t *tid;
  uint64_t *all_d, *all_c, t0, t1;
  mt_policyset *ps;
  if (argc < 2 || threads < 1 || n < 100) {
    fprintf(stderr, "usage: mt_bench POLICY.lua [THREADS [CONNECTIONS]]\n");
    return 2;
  }
  memset(&c, 0, sizeof c);
  pol = argv[1];
  c.policies[0] = pol;
  c.npolicies = 1;
  c.timeout_ms = 1000;
  c.monitors[0] = (char *)"60,1";  /* as the shipped configuration */
  c.monitors[1] = (char *)"300,6";
  c.nmonitors = 2;
  if (mt_table_make(&c, err, sizeof err) != 0) {
    fprintf(stderr, "mt_bench: %s\n", err);
    return 1;
  }
  if ((ps = mt_policy_prepare(&c, mt_table, err, sizeof err)) == NULL) {
    fprintf(stderr, "mt_bench: %s\n", err);
    return 1;
  }
  mt_policy_install(ps);
  w = calloc((size_t)threads, sizeof *w);
  tid = calloc((size_t)threads, sizeof *tid);
  all_d = malloc(sizeof *all_d * (size_t)n * (size_t)threads);
  all_c = malloc(sizeof *all_c * (size_t)n * (size_t)threads);
  if (w == NULL || tid == NULL || all_d == NULL || all_c == NULL) return 1;
  t0 = mt_now_ns();
  for (t = 0; t < threads; t++) {
    w[t].id = t;
    w[t].n = n;
    w[t].decide = all_d + (size_t)t * (size_t)n;
    w[t].close = all_c + (size_t)t * (size_t)n;
    pthread_create(&tid[t], NULL, work, &w[t]);
  }
  for (t = 0; t < threads; t++) {
    pthread_join(tid[t], NULL);
    failures += w[t].failures;
  }
  t1 = mt_now_ns();
  printf("{\n  \"threads\": %d, \"connections_per_thread\": %ld, \"failures\": %d,\n", threads, n,
         failures);
  printf("  \"decisions_per_s_per_thread\": %.0f,\n", (double)n / ((double)(t1 - t0) / 1e9));
  report("connect_decision", all_d, n * threads);
  printf(",\n");
  report("close", all_c, n * threads);
  printf(",\n  \"table_bytes_after\": %zu\n}\n", sc_table_bytes(mt_table));
  mt_policy_shutdown();
  return failures != 0;
}
