# Stand-in for python:3.11-slim: Debian 12's Python 3.11 with pip, usable as root like
# the official image (no "externally managed" guard).
ARG BASE
FROM ${BASE}
RUN rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED
ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["python3"]
