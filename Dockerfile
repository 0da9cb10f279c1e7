# Reportbook: one image for the three processes.
#
#   API (default):  docker run -p 8000:8000 --env-file .env reportbook
#   RQ worker:      docker run --env-file .env reportbook python -m scheduler.worker
#   scheduler:      docker run --env-file .env reportbook python -m scheduler
#   sample data:    docker run --env-file .env reportbook reportbook seed
#
# The image runs with ENVIRONMENT=production: every process needs MASTER_KEY and
# API_KEY_PEPPER, and MONGODB_URI and REDIS_URL pointing at shared servers (see
# docker-compose.yml and render.yaml). The HEALTHCHECK below is the API's; the worker and
# scheduler containers override it (docker-compose.yml).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the project and its dependencies in a virtualenv ----------------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, from pyproject.toml and the lock alone: this layer is rebuilt only when
# they change. The versions are the ones in constraints.txt (`make lock`), as for make setup and CI.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r requirements.txt

# Then the project itself (no dev extras), not editable: the runtime stage gets no sources.
COPY README.md ./
COPY reporting ./reporting
COPY service ./service
COPY scheduler ./scheduler
# The `python3` kernel papermill starts is registered in the venv (argv: /opt/venv/bin/python),
# then checked: the build fails if the kernelspec or the report exporters do not resolve.
RUN pip install --no-cache-dir --no-deps . \
    && python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (Reportbook)" \
    && python -c "from jupyter_client.kernelspec import KernelSpecManager; spec = KernelSpecManager().get_kernel_spec('python3'); assert spec.argv[0] == '/opt/venv/bin/python', spec.argv; print('kernel python3:', spec.resource_dir)" \
    && python -c "import nbconvert; assert {'reportpdf', 'reporthtml'} <= set(nbconvert.get_export_names())"

# ---- runtime ------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# WeasyPrint's system libraries (Pango, HarfBuzz with its subsetter for ~3x faster PDFs),
# fonts the report stylesheet falls back to (DejaVu), and tini as PID 1 (forwards signals,
# reaps the kernels and job processes the worker forks).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        fonts-dejavu-core \
        libharfbuzz-subset0 \
        libharfbuzz0b \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 reportbook \
    && useradd --system --uid 10001 --gid reportbook --create-home --home-dir /home/reportbook \
        --shell /usr/sbin/nologin reportbook \
    && mkdir -p /var/lib/reportbook \
    && chown reportbook:reportbook /var/lib/reportbook

COPY --from=build /opt/venv /opt/venv
# The runnable notebooks, read-only for the app user (a run's kernel starts in this folder:
# notebooks write scratch files to a temporary directory, not next to themselves).
COPY notebooks /app/notebooks

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ENVIRONMENT=production \
    PORT=8000 \
    REPORTBOOK_DATA_DIR=/var/lib/reportbook \
    REPORTBOOK_NOTEBOOKS_DIR=/app/notebooks

WORKDIR /app
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthcheck' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["tini", "--"]
# The API on $PORT (Render sets PORT; WEB_CONCURRENCY sets uvicorn's worker processes). The
# app writes its own access log, hence --no-access-log (as `reportbook run` does).
CMD ["sh", "-c", "exec uvicorn --factory service.main:create_app --host 0.0.0.0 --port \"${PORT:-8000}\" --no-access-log"]
