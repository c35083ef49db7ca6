/*
 * sc_cluster_redis.c: the cluster thread's one Redis connection.
 *
 * hiredis 0.14's traps (NOTES): after an I/O error or a timeout the
 * context is dead, so it is freed and made again (XREAD is never asked to
 * BLOCK, so the read timeout bounds every command); a SIGSTOPped Redis still accepts connections, so a
 * connection counts as made only once a command (AUTH or INFO) answered;
 * redisReconnect restores neither the timeout nor AUTH, so it is not used.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_cluster_int.h"

/* Every command's bound: a tick and a margin. */
static struct timeval timeout_of(const sc_cluster *c)
{
    long ms = (long)c->tick_ms + 500;
    return (struct timeval){ms / 1000, (ms % 1000) * 1000};
}

static redisContext *open_context(const sc_cluster *c)
{
    struct timeval tv = timeout_of(c);
    if (c->redis[0] == '/') return redisConnectUnixWithTimeout(c->redis, tv);
    char host[256];
    snprintf(host, sizeof host, "%s", c->redis);
    char *colon = strrchr(host, ':');
    int port = atoi(colon + 1);
    *colon = 0;
    char *h = host;
    if (h[0] == '[' && colon > h && colon[-1] == ']') {   /* [::1]:6379 */
        colon[-1] = 0;
        h++;
    }
    return redisConnectWithTimeout(h, port, tv);
}

void sc_cl_disconnect(sc_cluster *c, const char *why)
{
    if (!c->rc) return;
    if (why) {
        sc_cl_log(c, "lost redis %s: %s", c->redis, why);
        SC_CL_BUMP(c, disconnects, 1);
    }
    redisFree(c->rc);
    c->rc = NULL;
    c->next_connect_ms = sc_cl_now_ms() + 100;
}

static void contact(sc_cluster *c)
{
    pthread_mutex_lock(&c->status_lock);
    c->last_contact_ms = sc_cl_now_ms();
    pthread_mutex_unlock(&c->status_lock);
}

redisReply *sc_cl_cmd(sc_cluster *c, int argc, const char **argv, const size_t *lens)
{
    if (!c->rc) return NULL;
    redisReply *r = redisCommandArgv(c->rc, argc, argv, lens);
    if (!r) {
        sc_cl_disconnect(c, c->rc->errstr[0] ? c->rc->errstr : "no reply");
        return NULL;
    }
    contact(c);
    return r;
}

redisReply *sc_cl_cmdf(sc_cluster *c, const char *fmt, ...)
{
    if (!c->rc) return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c->rc, fmt, ap);
    va_end(ap);
    if (!r) {
        sc_cl_disconnect(c, c->rc->errstr[0] ? c->rc->errstr : "no reply");
        return NULL;
    }
    contact(c);
    return r;
}

bool sc_cl_ok(sc_cluster *c, redisReply *r, const char *what)
{
    if (!r) return false;
    bool ok = r->type != REDIS_REPLY_ERROR;
    if (!ok) sc_cl_log(c, "%s: redis said %.*s", what, (int)r->len, r->str);
    freeReplyObject(r);
    return ok;
}

static bool authenticate(sc_cluster *c)
{
    if (!c->password) return true;
    const char *argv[3] = {"AUTH", c->user ? c->user : c->password, c->password};
    int argc = c->user ? 3 : 2;
    redisReply *r = sc_cl_cmd(c, argc, argv, NULL);
    if (r && r->type == REDIS_REPLY_ERROR) {
        sc_cl_log(c, "redis refused AUTH%s%s", c->user ? " as user " : "", c->user ? c->user : "");
        freeReplyObject(r);
        sc_cl_disconnect(c, NULL);
        return false;
    }
    if (r) freeReplyObject(r);
    return c->rc != NULL;
}

/* run_id from INFO server, into buf; false when the connection failed. */
static bool read_run_id(sc_cluster *c, char *buf, size_t cap)
{
    redisReply *r = sc_cl_cmdf(c, "INFO server");
    if (!r) return false;
    buf[0] = 0;
    const char *p = r->type == REDIS_REPLY_STRING ? strstr(r->str, "run_id:") : NULL;
    if (p) snprintf(buf, cap, "%.40s", p + 7);
    buf[strcspn(buf, "\r\n")] = 0;
    freeReplyObject(r);
    return true;
}

bool sc_cl_connect(sc_cluster *c)
{
    int64_t now = sc_cl_now_ms();
    if (now < c->next_connect_ms) return false;
    c->next_connect_ms = now + 200;
    c->rc = open_context(c);
    if (!c->rc || c->rc->err) {
        if (c->rc) redisFree(c->rc);
        c->rc = NULL;
        return false;
    }
    struct timeval tv = timeout_of(c);
    redisSetTimeout(c->rc, tv);
    char run_id[48];
    if (!authenticate(c) || !read_run_id(c, run_id, sizeof run_id)) return false;
    if (strcmp(run_id, c->run_id) != 0) {
        if (c->run_id[0]) {
            sc_cl_log(c, "redis is a new instance (run_id %s): publishing the full state again",
                      run_id);
            SC_CL_BUMP(c, redis_restarts, 1);
            /* the peers republish as they reconnect: until then their
             * keys are missing, which must not read as leaving */
            c->grace_until_ms = sc_cl_now_ms() + c->lease_ms;
            sc_cl_resync_all(c);
        }
        snprintf(c->run_id, sizeof c->run_id, "%s", run_id);
    }
    sc_cl_log(c, "connected to redis %s", c->redis);

    c->need_full = true;   /* a batch may have been lost with the old connection */
    c->next_lease_ms = 0;  /* renew at once: Redis may have lost the live key */
    return true;
}
