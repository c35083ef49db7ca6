/*
** mt_log.c: one line per decision, to stderr (with a UTC time stamp) or to
** syslog (facility mail, ident sesscount-milter).  Lines are written with
** one write each, so lines of different threads never interleave.
*/

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mt.h"


static bool tosyslog, wantdebug;


void mt_log_setup (bool use_syslog, bool debug) {
  if (use_syslog && !tosyslog)
    openlog("sesscount-milter", LOG_PID, LOG_MAIL);
  tosyslog = use_syslog;
  wantdebug = debug;
}


static void emit (int prio, const char *fmt, va_list ap) {
  char line[1024];
  size_t n = 0;
  if (tosyslog) {
    vsyslog(prio, fmt, ap);
    return;
  }
  {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof line - n, ".%03ldZ sesscount-milter[%ld]: ",
                          ts.tv_nsec / 1000000, (long)getpid());
  }
  {
    int k = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    n = (k < 0) ? n : (n + (size_t)k < sizeof line - 1 ? n + (size_t)k : sizeof line - 2);
  }
  line[n++] = '\n';
  if (write(STDERR_FILENO, line, n) < 0) { /* nowhere left to say it */ }
}


void mt_log (const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(LOG_NOTICE, fmt, ap);
  va_end(ap);
}


void mt_debug (const char *fmt, ...) {
  va_list ap;
  if (!wantdebug) return;
  va_start(ap, fmt);
  emit(LOG_DEBUG, fmt, ap);
  va_end(ap);
}
