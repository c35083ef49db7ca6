/*
** mt_scan.c: the load-time check that a policy uses only what the milter
** provides.
**
** A policy for Momentum may name functions the milter does not have; a
** call inside validate_connect would only fail on the first connection.
** So after a policy is loaded, its source is read with a small Lua lexer
** (comments and strings skipped, lines counted), and every name chain
** msys.a.b... it spells out is looked up in the loaded state: a module
** under msys that a script did not require is required first (as it would
** be in Momentum).  Literal macros given to msys.expandMacro are checked
** too.  What the lexer cannot see (a chain through a local variable) still
** fails when reached, with the same message.
*/

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"

#include "mt.h"


typedef struct scan {
  const char *p, *end;
  int line;
} scan;


static int isname (int c) { return isalnum((unsigned char)c) || c == '_'; }


/* at "[" of a long bracket: its level (number of '='), or -1 if none */
static int longlevel (const scan *s) {
  const char *q = s->p + 1;
  int level = 0;
  while (q < s->end && *q == '=') { q++; level++; }
  return (q < s->end && *q == '[') ? level : -1;
}


static void skiplong (scan *s, int level) {
  s->p += level + 2;
  while (s->p < s->end) {
    if (*s->p == '\n') s->line++;
    if (*s->p == ']') {
      const char *q = s->p + 1;
      int n = 0;
      while (q < s->end && *q == '=') { q++; n++; }
      if (n == level && q < s->end && *q == ']') { s->p = q + 1; return; }
    }
    s->p++;
  }
}


/* skips a quoted string; copies its bytes (escapes as written) to out */
static void skipquoted (scan *s, char *out, size_t cap) {
  char q = *s->p++;
  size_t n = 0;
  while (s->p < s->end && *s->p != q && *s->p != '\n') {
    if (*s->p == '\\' && s->p + 1 < s->end) {
      if (s->p[1] == '\n') s->line++;
      s->p++;
    }
    if (out != NULL && n + 1 < cap) out[n++] = *s->p;
    s->p++;
  }
  if (s->p < s->end && *s->p == q) s->p++;
  if (out != NULL) out[n] = '\0';
}


static void skipspace (scan *s) {
  while (s->p < s->end && isspace((unsigned char)*s->p)) {
    if (*s->p == '\n') s->line++;
    s->p++;
  }
}


/* value of the chain's next name in the table at the top (pushed) */
static int lookup (lua_State *L, const char *chain, const char *name, int first) {
  if (!lua_istable(L, -1)) { lua_pushnil(L); return 0; }  /* not a table: nothing to check */
  lua_pushstring(L, name);
  lua_rawget(L, -2);
  if (lua_isnil(L, -1) && first) {  /* a module not required yet */
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushfstring(L, "msys.%s", name);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
    lua_pushstring(L, name);
    lua_rawget(L, -2);
  }
  (void)chain;
  return lua_isnil(L, -1) ? -1 : 1;
}


/* checks the chain (names separated by NULs, n of them) in L */
static int checkchain (lua_State *L, char names[][64], int n, char *chain) {
  int i, st = 0, top = lua_gettop(L);
  lua_getglobal(L, "msys");
  for (i = 0; i < n && st >= 0; i++) {
    int r = lookup(L, chain, names[i], i == 0);
    if (r == 0) break;  /* reached a non-table: its fields are its own */
    if (r < 0) {
      size_t len = 4;
      int k;
      for (k = 0; k <= i; k++) len += 1 + strlen(names[k]);
      chain[len] = '\0';  /* the chain up to the missing name */
      st = -1;
    }
  }
  lua_settop(L, top);
  return st;
}


/* at "msys": reads the chain; checks it and any literal macro */
static int onchain (lua_State *L, scan *s, char *err, size_t errsz, const char *chunk) {
  char names[8][64], chain[8 * 65 + 8], macro[128];
  int n = 0, line = s->line;
  const char *start = s->p;
  s->p += 4;
  while (n < 8 && s->p + 1 < s->end && *s->p == '.' && isname(s->p[1])) {
    size_t k = 0;
    s->p++;
    while (s->p < s->end && isname(*s->p)) {
      if (k + 1 < sizeof names[n]) names[n][k++] = *s->p;
      s->p++;
    }
    names[n++][k] = '\0';
  }
  snprintf(chain, sizeof chain, "%.*s", (int)(s->p - start), start);
  {
    scan look = *s;
    skipspace(&look);
    if (look.p < look.end && *look.p == '=' && (look.p + 1 == look.end || look.p[1] != '='))
      return 0;  /* an assignment: the script makes the name itself */
    if (n == 1 && strcmp(names[0], "expandMacro") == 0 && look.p < look.end && *look.p == '(') {
      look.p++;
      skipspace(&look);
      if (look.p < look.end && (*look.p == '"' || *look.p == '\'')) {
        static const mt_session none;
        char out[512];
        skipquoted(&look, macro, sizeof macro);
        if (mt_runtime_expand(&none, macro, out, sizeof out) == NULL) {
          snprintf(err, errsz, "%s:%d: msys.expandMacro: macro %s is not provided by "
                   "sesscount-milter", chunk, line, out);
          return -1;
        }
      }
    }
  }
  if (n > 0 && checkchain(L, names, n, chain) < 0) {
    snprintf(err, errsz, "%s:%d: %s is not provided by sesscount-milter", chunk, line, chain);
    return -1;
  }
  return 0;
}


int mt_scan_missing (lua_State *L, const char *src, size_t len, const char *chunkname,
                     char *err, size_t errsz) {
  scan s = {src, src + len, 1};
  char prev = ' ';  /* the last character that was not space */
  while (s.p < s.end) {
    char c = *s.p;
    int level;
    if (c == '\n') { s.line++; s.p++; continue; }
    if (c == '-' && s.p + 1 < s.end && s.p[1] == '-') {
      s.p += 2;
      if (s.p < s.end && *s.p == '[' && (level = longlevel(&s)) >= 0) skiplong(&s, level);
      else while (s.p < s.end && *s.p != '\n') s.p++;
      continue;
    }
    if (c == '[' && (level = longlevel(&s)) >= 0) { skiplong(&s, level); prev = ']'; continue; }
    if (c == '"' || c == '\'') { skipquoted(&s, NULL, 0); prev = c; continue; }
    if (isname(c)) {
      const char *w = s.p;
      while (s.p < s.end && isname(*s.p)) s.p++;
      if (s.p - w == 4 && memcmp(w, "msys", 4) == 0 && prev != '.' && prev != ':' &&
          !isdigit((unsigned char)*w)) {
        s.p = w;
        if (onchain(L, &s, err, errsz, chunkname) != 0) return -1;
      }
      prev = 'a';
      continue;
    }
    if (!isspace((unsigned char)c)) prev = c;
    s.p++;
  }
  return 0;
}
