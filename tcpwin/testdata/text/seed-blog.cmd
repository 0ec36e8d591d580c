# verbatim copy of ../shared/seed/000_5316dea297c195e5.txt (the 2006 blog post); its tcpdump paste is
# the line starting "tcpdump: listening on bond0 > S 0:0 win 5840".
