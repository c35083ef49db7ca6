/*
** audit_check.c: argument checks, and the one path every error of the
** module takes.
**
** Errors are Lua's own argument errors (luaL_argerror):
**   bad argument #1 to 'inbound_session_count' (invalid cidr "10.0.0.256/8":
**   octet out of range at offset 9)
** The text is quoted as given, in Lua's string syntax and in ASCII:
** printable ASCII as is, '"' and '\' escaped, every other byte as a
** decimal escape ("\0", "\200"); past AUDIT_QUOTEMAX bytes it is cut, with
** "..." after the closing quote.  The offset counts bytes of the text as
** given.
*/

#include <stdio.h>

#include "audit.h"


#define AUDIT_QUOTEMAX	64


static void addquoted (luaL_Buffer *b, const char *s, size_t l) {
  size_t i, n = (l > AUDIT_QUOTEMAX) ? AUDIT_QUOTEMAX : l;
  luaL_addchar(b, '"');
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      luaL_addchar(b, '\\');
      luaL_addchar(b, (char)c);
    }
    else if (c >= 0x20 && c < 0x7f)
      luaL_addchar(b, (char)c);
    else {  /* decimal, 3 digits when a digit follows, as '%q' writes */
      char e[8];
      int digit = (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9');
      snprintf(e, sizeof(e), digit ? "\\%03u" : "\\%u", (unsigned)c);
      luaL_addstring(b, e);
    }
  }
  luaL_addchar(b, '"');
  if (n < l)
    luaL_addstring(b, "...");
}


/*
** raises the error for status 'st' about argument 'arg' (a string on the
** stack, or 0 for none); 'what' names what a parse error ('e') was
** parsing: "cidr" or "ip"
*/
int audit_fail (lua_State *L, int arg, const char *what, sc_status st,
                const sc_error *e) {
  luaL_Buffer b;
  size_t l = 0;
  const char *s = (arg > 0) ? lua_tolstring(L, arg, &l) : NULL;
  if (s == NULL || (st != SC_E_PARSE && st != SC_E_NO_SERVICE &&
                    st != SC_E_NEEDS_CLUSTERING)) {
    if (arg > 0)
      return luaL_argerror(L, arg, sc_strerror(st));
    return luaL_error(L, "%s", sc_strerror(st));
  }
  luaL_buffinit(L, &b);
  switch (st) {
    case SC_E_PARSE:
      lua_pushfstring(L, "invalid %s ", what);
      luaL_addvalue(&b);
      addquoted(&b, s, l);
      lua_pushfstring(L, ": %s at offset %I", e->reason,
                      (lua_Integer)e->offset);
      luaL_addvalue(&b);
      break;
    case SC_E_NO_SERVICE:
      luaL_addstring(&b, "unknown service ");
      addquoted(&b, s, l);
      break;
    default:  /* SC_E_NEEDS_CLUSTERING */
      luaL_addstring(&b, "service ");
      addquoted(&b, s, l);
      luaL_addstring(&b, " needs clustering");
      break;
  }
  luaL_pushresult(&b);
  return luaL_argerror(L, arg, lua_tostring(L, -1));
}


/* checks that argument 'arg' is a CIDR; relative masks apply to 'ip'
** (NULL: none); puts the prefix in '*p' */
void audit_checkcidr (lua_State *L, int arg, const sc_addr *ip, sc_prefix *p) {
  size_t l;
  const char *s = luaL_checklstring(L, arg, &l);
  sc_error e;
  sc_status st = sc_parse_cidr(s, l, ip, p, &e);
  if (st != SC_OK)
    audit_fail(L, arg, "cidr", st, &e);
}


/* checks that argument 'arg' is an IP address; puts it in '*ip' */
void audit_checkip (lua_State *L, int arg, sc_addr *ip) {
  size_t l;
  const char *s = luaL_checklstring(L, arg, &l);
  sc_error e;
  sc_status st = sc_parse_addr(s, l, ip, &e);
  if (st != SC_OK)
    audit_fail(L, arg, "ip", st, &e);
}


/* checks that argument 'arg' names a service of table 't' */
sc_service audit_checkservice (lua_State *L, int arg, const sc_table *t) {
  size_t l;
  const char *s = luaL_checklstring(L, arg, &l);
  sc_service v = 0;
  sc_status st = sc_table_service(t, s, l, &v);
  if (st != SC_OK)
    audit_fail(L, arg, NULL, st, NULL);
  return v;
}
