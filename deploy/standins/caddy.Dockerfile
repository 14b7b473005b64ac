# Stand-in for caddy:2-alpine where no registry is reachable: Debian bookworm's caddy 2.6.2.
FROM local/debian:bookworm
ARG DEBIAN_FRONTEND=noninteractive
RUN set -eux; \
    printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' > /etc/apt/sources.list; \
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; \
    apt-get update; \
    apt-get install -y --no-install-recommends caddy ca-certificates; \
    apt-get clean; rm -rf /var/lib/apt/lists/*; \
    mkdir -p /config/caddy /data/caddy /etc/caddy /srv; \
    caddy version
LABEL org.chat-server.standin-for="caddy:2-alpine" \
      org.opencontainers.image.description="Stand-in for caddy:2-alpine: Debian bookworm's caddy 2.6.2"
# As in the official image.
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
VOLUME /config /data
EXPOSE 80 443 2019
WORKDIR /srv
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
