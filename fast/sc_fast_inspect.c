/*
 * sc_fast_inspect.c: the census of a fast table's shapes (sc_fast_inspect.h).
 * The traced count lives beside the real one (sc_fast_table.c,
 * sc_fast_trie.c) and shares its code.
 */
#include "sc_fast_inspect.h"
#include "sc_fast_node.h"

const char *sc_shape_name(int shape)
{
    static const char *const names[SC_SHAPES] = {
        [SC_LEAF] = "LEAF", [SC_N2] = "N2",     [SC_N4] = "N4",     [SC_N8] = "N8",
        [SC_N16] = "N16",   [SC_N48] = "N48",   [SC_N128] = "N128",
        [SC_N256] = "N256", [SC_SHAPE_INLINE] = "inline", [SC_SHAPE_PAIR] = "pair"};
    return shape >= 0 && shape < SC_SHAPES ? names[shape] : "?";
}

const char *sc_count_path_name(sc_count_path path)
{
    static const char *const names[SC_PATHS] = {
        [SC_PATH_NONE] = "no-tree", [SC_PATH_STRIPES] = "stripes", [SC_PATH_TOP_SUM] = "top-sum",
        [SC_PATH_SHARD] = "shard",  [SC_PATH_EMPTY] = "empty",     [SC_PATH_SLOT] = "slot",
        [SC_PATH_RUN] = "run",      [SC_PATH_PAIR] = "pair"};
    return path < SC_PATHS ? names[path] : "?";
}

static void census_word(uintptr_t w, sc_census *out)
{
    if (!w) return;
    int shape = sc_word_shape(w);
    out->shape[shape]++;
    if (shape == SC_SHAPE_INLINE || shape == SC_SHAPE_PAIR || shape == SC_LEAF) return;
    const sc_node *n = sc_node_of(w);
    const sc_slot *s = sc_slots(n);
    for (unsigned i = 0; i < sc_slot_cap(n->kind); i++)
        census_word(sc_child_of(sc_slot_at(s, i, n->wide)), out);
}

bool sc_fast_census(const sc_table *tab, sc_census *out)
{
    if (!sc_is_fast_table(tab) || !out) return false;
    const sc_fast_table *t = (const sc_fast_table *)(uintptr_t)tab;
    *out = (sc_census){{0}};
    for (size_t k = 0; k < tab->n_services * 2; k++) {
        /* acquire: as tree_get, pairs with the CAS that published the tree. */
        const sc_tree *tree = atomic_load_explicit(&t->trees[k], memory_order_acquire);
        if (!tree) continue;
        for (unsigned i = 0; i < SC_TOP_SLOTS; i++)
            /* acquire: as sc_child_of. */
            census_word(atomic_load_explicit(&tree->top->child[i], memory_order_acquire), out);
    }
    return true;
}
