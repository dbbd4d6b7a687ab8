# Sourced by the setup scripts: `apt_install PACKAGE...` installs Debian packages without
# their recommends (only what they need to run), its output in .venv/apt.log, shown only if the
# install fails (as pip's in .venv/pip.log).
apt_install() {
    local sudo="" log=.venv/apt.log
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    mkdir -p .venv
    echo "installing Debian packages: $* (log: $log)"
    if ! {
        $sudo apt-get update -q &&
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
    } >>"$log" 2>&1; then
        tail -n 50 "$log"
        echo "apt-get failed; the whole log is $log" >&2
        return 1
    fi
}

# `apt_install_missing COMMAND:PACKAGE...`: installs the packages whose command is not on PATH (an
# empty COMMAND: whose package is not installed, for a library).
apt_install_missing() {
    local pair command package missing=()
    for pair in "$@"; do
        command="${pair%%:*}" package="${pair#*:}"
        if [ -n "$command" ]; then
            command -v "$command" >/dev/null 2>&1 && continue
        else
            dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" && continue
        fi
        missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
}
