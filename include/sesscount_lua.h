/*
 * sesscount_lua.h: binds the Lua 5.4 module msys.audit to a host's table.
 *
 * The module (SPEC "Lua 5.4 module msys.audit") ships two ways, built from
 * the same sources:
 *  - msys/audit.so, which a stand-alone interpreter loads with
 *    require('msys.audit') from package.cpath.  It counts in one
 *    process-wide fast table without clustering, created on first use.
 *  - libsesscount_lua.a, which a host links (with libsesscount and its own
 *    Lua) to bind the module to a table the host made: clustering on or off,
 *    extra services, shared by every thread and every lua_State of the host.
 *
 * A host, per lua_State:
 *
 *     lua_State *L = luaL_newstate();
 *     luaL_openlibs(L);
 *     sc_lua_bind(L, table);               // require('msys.audit') -> over table
 *     ...load the policy script...
 *     // for each new connection:
 *     sc_lua_set_connecting_ip(L, &peer);  // what "/24" means in this state
 *     ...call the policy...
 *
 * sc_lua_bind puts the module in package.preload, which require searches
 * before package.cpath, so scripts written for the stand-alone module
 * (require('msys.audit'), then msys.audit.*) run unchanged and never load
 * msys/audit.so.
 *
 * Lifetimes: a bound table must outlive every lua_State bound to it: sessions
 * that a script opened and left open are closed by the garbage collector,
 * at the latest in lua_close, and they close into that table.
 *
 * Thread-safety: as everywhere in Lua, one lua_State (with its coroutines) is
 * used by one thread at a time; these functions are no exception.  Different
 * states may run on different threads at once, bound to the same table: the
 * table is thread-safe (sesscount.h).
 *
 * Errors: the functions return an sc_status for what they check.  Like
 * luaL_openlibs, they may raise a Lua memory error the first time they are
 * called on a state (they allocate one small userdata there); a host that
 * must survive that calls them from a protected call (lua_pcall of a C
 * function).  Compile with the host's Lua headers (pkg-config --cflags
 * lua5.4).
 */
#ifndef SESSCOUNT_LUA_H
#define SESSCOUNT_LUA_H

#include "sesscount.h"

#ifdef __cplusplus
extern "C" {   /* lua.h has no guard of its own (lua.hpp adds one) */
#endif

#include <lua.h>

/* Makes require('msys.audit') in L return the module bound to `table`
 * (NULL: the process-wide table of the stand-alone module, created on first
 * use).  Installs the loader in package.preload["msys.audit"]; it works
 * before or after luaL_openlibs.  Bind before a script requires the module:
 * if the module is already loaded in L, its functions count in the new
 * table from their next call, and sessions already open stay in the table
 * they were opened in.  Each lua_State is bound separately; many states may
 * share one table.  To load the module eagerly (without a script's require),
 * call luaL_requiref(L, "msys.audit", luaopen_msys_audit, 0) after binding:
 * the module sets the global msys.audit itself (glb = 1 would set a flat
 * global "msys.audit").
 * Errors: SC_E_NOMEM when table is NULL and the process-wide table cannot
 * be made.  A Lua memory error as said above.
 * Thread-safety: the thread that owns L.  Cost: O(1), one small userdata and
 * one table field the first time. */
SC_API sc_status sc_lua_bind(lua_State *L, sc_table *table);

/* Sets the connecting IP of L: the peer of the session a policy is about to
 * run for, which relative masks ("/24") in msys.audit.inbound_session_count
 * and msys.audit.cidr apply to.  The same as the script's own
 * msys.audit.set_connecting_ip(ip); NULL clears it (a relative mask is then
 * an error).  The address is copied; an IPv4-mapped IPv6 address is taken as
 * the IPv4 address it is (sc_addr_from_bytes).  Works before or after the
 * module is loaded and bound; all coroutines of L share it.
 * Errors: SC_E_INVALID for a bad family (nothing changes).  A Lua memory
 * error as said above.
 * Thread-safety: the thread that owns L.  Cost: O(1), one registry lookup;
 * no allocation after the first call on L. */
SC_API sc_status sc_lua_set_connecting_ip(lua_State *L, const sc_addr *ip);

/* The module's entry point, as require calls it: returns (pushes) the module
 * table and sets the global msys.audit, keeping the other fields of an
 * existing global table msys (creating it when absent).  Counts in the
 * table bound to L, or in the process-wide one when L is not bound.
 * Errors (Lua errors): the global msys is neither nil nor a table; the
 * process-wide table cannot be made.  Thread-safety: the thread that owns
 * L.  Cost: O(1). */
SC_API int luaopen_msys_audit(lua_State *L);

/* The entry point of msys.audit_series (SPEC "Windowed counts", Lua): the
 * module of named series (define, add, count, remove_item), which sets the
 * global msys.audit_series.  Its series live in the table bound to L (or
 * the process-wide one) and are shared by every state bound to that table.
 * sc_lua_bind preloads it beside msys.audit; the stand-alone copy is
 * msys/audit_series.so, a link to msys/audit.so.  Errors, thread-safety
 * and cost as luaopen_msys_audit. */
SC_API int luaopen_msys_audit_series(lua_State *L);

#ifdef __cplusplus
}
#endif

#endif /* SESSCOUNT_LUA_H */
