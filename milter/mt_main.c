/*
** mt_main.c: sesscount-milter's command line, start-up, signals.
**
** Threads: libmilter's main loop (smfi_main) runs on a thread of its own;
** the process's main thread only waits for signals.  libmilter starts a
** signal thread that stops the milter on SIGHUP, so SIGHUP must never
** reach it: every thread is created with HUP, TERM and INT blocked, and
** only the main thread unblocks them, with handlers that write to a pipe.
** Linux gives a signal sent to the process to its main thread when that
** thread does not block it, so the reload and the stop happen here.
*/

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mt.h"

#ifndef MT_SYSCONFDIR
#define MT_SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG	MT_SYSCONFDIR "/sesscount-milter/sesscount-milter.conf"


static const char usage[] =
"NAME\n"
"    sesscount-milter - per-CIDR session limits for Postfix and Sendmail, with\n"
"    Momentum-style Lua policies\n"
"\n"
"SYNOPSIS\n"
"    sesscount-milter [-c FILE]                 run the daemon (in the foreground)\n"
"    sesscount-milter [-c FILE] --check         check FILE and its policies, then exit\n"
"    sesscount-milter [-c FILE | --control PATH] --ctl COMMAND...\n"
"    sesscount-milter --help | --version\n"
"\n"
"DESCRIPTION\n"
"    A milter (libmilter) that counts the open SMTP sessions of every client in\n"
"    one sesscount table and runs Lua policies written for Momentum's msys.audit\n"
"    (validate_connect, validate_ehlo, validate_mailfrom, validate_rcptto,\n"
"    validate_data, validate_data_spool) to refuse a connection or a command.\n"
"    Postfix: smtpd_milters = inet:127.0.0.1:8891 (the socket of the file).\n"
"\n"
"OPTIONS\n"
"    -c, --config FILE   the configuration file (default " DEFAULT_CONFIG ")\n"
"    --check             read the file, load every policy in a scratch state,\n"
"                        exit 0 if all is well, 1 with the reason if not\n"
"    --ctl COMMAND...    send COMMAND to the running daemon's control socket\n"
"                        and print the answer; exit 1 if it refused\n"
"    --control PATH      the control socket for --ctl (default: the file's)\n"
"    -h, --help          this text\n"
"    --version           the version\n"
"\n"
"CONTROL COMMANDS\n"
"    show ip CIDR        sessions and every monitor's windows for the prefix\n"
"    show tree CIDR      the prefixes under CIDR where sessions branch, counted\n"
"    top N LEN           the N prefixes of length LEN with the most sessions\n"
"    stats               the daemon's counters\n"
"    metrics             counters in Prometheus text format\n"
"\n"
"SIGNALS\n"
"    SIGHUP              read the file and the policies again; a file or policy\n"
"                        with an error is logged and the old one kept; open\n"
"                        sessions are kept either way\n"
"    SIGTERM, SIGINT     stop: the MTA applies its milter_default_action\n"
"\n"
"FILES\n"
"    " DEFAULT_CONFIG "\n"
"                        the configuration (a commented example ships with it)\n"
"\n"
"EXIT STATUS\n"
"    0 on a clean stop, 1 on a configuration or policy error, 2 on bad usage.\n";


static mt_config config;
static int sigpipe[2] = {-1, -1};
static pthread_t milterthread;


static void onsignal (int sig) {
  unsigned char b = (unsigned char)sig;
  int saved = errno;
  if (write(sigpipe[1], &b, 1) < 0) { /* the pipe is full: a signal is already pending */ }
  errno = saved;
}


static void *stopmilter (void *arg) {
  (void)arg;
  mt_milter_stop();
  return NULL;
}


static void *milterloop (void *arg) {
  char err[256];
  unsigned char b = 0;  /* 0: libmilter's loop ended on its own */
  (void)arg;
  if (mt_milter_run(&config, err, sizeof err) != 0) mt_log("%s", err);
  if (write(sigpipe[1], &b, 1) < 0) { /* main exits anyway at its next wake-up */ }
  return NULL;
}


static int samelist (char *const *a, int na, char *const *b, int nb) {
  int i;
  if (na != nb) return 0;
  for (i = 0; i < na; i++)
    if (strcmp(a[i], b[i]) != 0) return 0;
  return 1;
}


static int samestr (const char *a, const char *b) {
  return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}


static void reload (void) {
  mt_config c;
  mt_policyset *ps;
  char err[512];
  if (mt_config_read(config.path, &c, err, sizeof err) != 0) {
    mt_log("reload refused: %s; keeping the running configuration", err);
    mt_stats_reload(false);
    return;
  }
  if ((ps = mt_policy_prepare(&c, mt_table, err, sizeof err)) == NULL) {
    mt_log("reload refused: policy: %s; keeping the running policies", err);
    mt_config_free(&c);
    mt_stats_reload(false);
    return;
  }
  if (!samestr(c.socket, config.socket) || !samestr(c.control, config.control) ||
      !samestr(c.user, config.user) ||
      !samelist(c.services, c.nservices, config.services, config.nservices) ||
      !samelist(c.monitors, c.nmonitors, config.monitors, config.nmonitors))
    mt_log("reload: socket, control, user, service and monitor changes take effect at restart");
  if (!samestr(c.cluster_redis, config.cluster_redis) ||
      !samestr(c.cluster_name, config.cluster_name) ||
      !samestr(c.cluster_node, config.cluster_node) ||
      !samestr(c.cluster_user, config.cluster_user) ||
      !samestr(c.cluster_password_file, config.cluster_password_file) ||
      c.cluster_lease_ms != config.cluster_lease_ms)
    mt_log("reload: cluster_* changes take effect at restart");
  mt_policy_install(ps);
  mt_log_setup(config.syslog, c.debug);
  mt_log("reloaded %s: %d policies, on_policy_error %s, policy_timeout %u ms", c.path,
         c.npolicies, mt_action_name(c.on_error), c.timeout_ms);
  mt_stats_reload(true);
  mt_config_free(&c);
}


static int droproot (const char *user, char *err, size_t errsz) {
  struct passwd *pw;
  if (user == NULL || geteuid() != 0) return 0;
  if ((pw = getpwnam(user)) == NULL) {
    snprintf(err, errsz, "user '%s' does not exist", user);
    return -1;
  }
  if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
    snprintf(err, errsz, "cannot become user '%s': %s", user, strerror(errno));
    return -1;
  }
  return 0;
}


/* waits for signals (and the end of libmilter's loop); returns at a stop */
static void waitsignals (void) {
  struct sigaction sa;
  sigset_t set;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = onsignal;
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  for (;;) {
    unsigned char b;
    ssize_t k = read(sigpipe[0], &b, 1);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0 || b == 0) return;
    if (b == SIGHUP) reload();
    else {
      mt_log("stopping on signal %d", b);
      return;
    }
  }
}


static int run (void) {
  char err[512];
  mt_policyset *ps;
  sigset_t set;
  mt_log_setup(config.syslog, config.debug);
  if (mt_table_make(&config, err, sizeof err) != 0 ||
      (ps = mt_policy_prepare(&config, mt_table, err, sizeof err)) == NULL) {
    mt_log("cannot start: %s", err);
    return 1;
  }
  mt_policy_install(ps);
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);  /* every thread from here on blocks them */
  /* the fleet before privileges drop: the password file may be root's */
  if (mt_cluster_join(&config, err, sizeof err) != 0 ||
      pipe(sigpipe) != 0 || mt_milter_open(&config, err, sizeof err) != 0 ||
      (config.control != NULL && mt_ctl_start(config.control, config.user, err, sizeof err) != 0) ||
      droproot(config.user, err, sizeof err) != 0) {
    mt_log("cannot start: %s", err);
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  if (pthread_create(&milterthread, NULL, milterloop, NULL) != 0) {
    mt_log("cannot start libmilter's thread");
    return 1;
  }
  mt_log("started: socket %s, %d policies, %zu monitors, control %s", config.socket,
         config.npolicies, (size_t)config.nmonitors, config.control ? config.control : "none");
  waitsignals();
  {
    /* smfi_stop waits for libmilter's listener to leave its poll (up to
    ** 5 s): it runs on a thread of its own, and the process waits a second
    ** at most; the MTA sees the milter gone either way */
    pthread_t stopper;
    struct timespec until;
    if (pthread_create(&stopper, NULL, stopmilter, NULL) == 0) pthread_detach(stopper);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    if (pthread_timedjoin_np(milterthread, NULL, &until) != 0)
      mt_debug("libmilter's loop still winding down at exit");
  }
  mt_ctl_stop();
  mt_log("stopped");
  return 0;
}


static int check (void) {
  char err[512];
  mt_policyset *ps;
  if (mt_table_make(&config, err, sizeof err) != 0 ||
      (ps = mt_policy_prepare(&config, mt_table, err, sizeof err)) == NULL) {
    fprintf(stderr, "sesscount-milter: %s\n", err);
    return 1;
  }
  mt_policy_install(ps);
  mt_policy_shutdown();
  sc_table_free(mt_table);
  printf("%s: OK (%d policies)\n", config.path, config.npolicies);
  return 0;
}


int main (int argc, char **argv) {
  const char *path = DEFAULT_CONFIG, *control = NULL;
  char err[512];
  int i, docheck = 0, st;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) path = argv[++i];
    else if (strcmp(a, "--control") == 0 && i + 1 < argc) control = argv[++i];
    else if (strcmp(a, "--check") == 0) docheck = 1;
    else if (strcmp(a, "--ctl") == 0 && i + 1 < argc) break;
    else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(usage, stdout);
      return 0;
    } else if (strcmp(a, "--version") == 0) {
      printf("sesscount-milter %s\n", SC_MILTER_VERSION);
      return 0;
    } else {
      fprintf(stderr, "sesscount-milter: bad argument '%s' (see --help)\n", a);
      return 2;
    }
  }
  if (i < argc) {  /* --ctl */
    if (control == NULL) {
      if (mt_config_read(path, &config, err, sizeof err) != 0) {
        fprintf(stderr, "sesscount-milter: %s\n", err);
        return 2;
      }
      control = config.control;
      if (control == NULL) {
        fprintf(stderr, "sesscount-milter: %s sets no 'control' socket\n", path);
        return 2;
      }
    }
    return mt_ctl_client(control, argc - i - 1, argv + i + 1);
  }
  if (mt_config_read(path, &config, err, sizeof err) != 0) {
    fprintf(stderr, "sesscount-milter: %s\n", err);
    return 1;
  }
  st = docheck ? check() : run();
  if (docheck) mt_config_free(&config);
  return st;
}
