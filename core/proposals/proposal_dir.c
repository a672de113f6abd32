/* proposal_dir.c */
