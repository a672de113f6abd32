/* proposal_set.c */
