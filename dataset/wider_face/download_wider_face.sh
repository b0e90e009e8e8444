#!/usr/bin/env bash
# Download and unpack WIDER FACE (Yang, Luo, Loy, Tang: "WIDER FACE: A Face Detection
# Benchmark", CVPR 2016; http://shuoyang1213.me/WIDERFACE/ - non-commercial research use).
#
# Usage: download_wider_face.sh [--check] [--no-test] [TARGET_DIR]
#
#   TARGET_DIR   where to put the data (default: the directory of this script)
#   --check      only verify that the unpacked layout is complete; download nothing
#   --no-test    skip WIDER_test.zip (1.8 GB of unlabelled images, not needed to train/eval)
#
# Result (the layout PaddleDetection's WIDERFaceDataSet expects):
#   TARGET_DIR/WIDER_train/images/<event>/*.jpg
#   TARGET_DIR/WIDER_val/images/<event>/*.jpg
#   TARGET_DIR/WIDER_test/images/<event>/*.jpg
#   TARGET_DIR/wider_face_split/wider_face_{train,val}_bbx_gt.txt, wider_face_test_filelist.txt
#
# Idempotent: archives already downloaded are not fetched again (a partial download is
# resumed), archives already unpacked are not unpacked again. Each archive is tried from
# PaddleDetection's mirror first, then from the official host. Connect timeout is
# $WIDER_CONNECT_TIMEOUT seconds (default 10), so an offline machine fails within seconds.
set -euo pipefail

PROG=$(basename "$0")
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd -P)
CONNECT_TIMEOUT=${WIDER_CONNECT_TIMEOUT:-10}
OFFICIAL_PAGE="http://shuoyang1213.me/WIDERFACE/"
PADDLE_MIRROR="https://dataset.bj.bcebos.com/wider_face"
HF_DATA="https://huggingface.co/datasets/CUHK-CSE/wider_face/resolve/main/data"
SITE_ANNOT="http://shuoyang1213.me/WIDERFACE/support/bbx_annotation"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

CHECK_ONLY=0
WITH_TEST=1
TARGET=""
while [ $# -gt 0 ]; do
    case "$1" in
        --check) CHECK_ONLY=1 ;;
        --no-test) WITH_TEST=0 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "$PROG: unknown option '$1' (see --help)" >&2; exit 2 ;;
        *)
            if [ -n "$TARGET" ]; then echo "$PROG: only one TARGET_DIR allowed" >&2; exit 2; fi
            TARGET=$1 ;;
    esac
    shift
done
TARGET=${TARGET:-$SCRIPT_DIR}

# archive name -> unpacked directory, mirror URLs (space separated, tried in order)
ARCHIVES=(WIDER_train.zip WIDER_val.zip wider_face_split.zip)
[ "$WITH_TEST" -eq 1 ] && ARCHIVES+=(WIDER_test.zip)
unpacked_dir() { case "$1" in wider_face_split.zip) echo wider_face_split ;; *) echo "${1%.zip}" ;; esac; }
urls_for() {
    case "$1" in
        WIDER_train.zip|WIDER_val.zip) echo "$PADDLE_MIRROR/$1 $HF_DATA/$1" ;;
        WIDER_test.zip) echo "$HF_DATA/$1" ;;
        wider_face_split.zip) echo "$PADDLE_MIRROR/$1 $SITE_ANNOT/$1" ;;
    esac
}

# --------------------------------------------------------------------------- layout check
missing_items() {   # prints one missing item per line; prints nothing if complete
    local d=$1 split
    local splits=(train val)
    [ "$WITH_TEST" -eq 1 ] && splits+=(test)
    for split in "${splits[@]}"; do
        local img="$d/WIDER_$split/images"
        if [ ! -d "$img" ]; then
            echo "WIDER_$split/images/ (directory)"
        elif [ -z "$(find "$img" -mindepth 2 -maxdepth 2 -name '*.jpg' -print -quit 2>/dev/null)" ]; then
            echo "WIDER_$split/images/<event>/*.jpg (no images found)"
        fi
    done
    local f
    local files=(wider_face_train_bbx_gt.txt wider_face_val_bbx_gt.txt)
    [ "$WITH_TEST" -eq 1 ] && files+=(wider_face_test_filelist.txt)
    for f in "${files[@]}"; do
        [ -s "$d/wider_face_split/$f" ] || echo "wider_face_split/$f"
    done
}

manual_help() {
    local d=$1
    cat >&2 <<EOF
  To install WIDER FACE by hand: on a machine with internet access download
      WIDER_train.zip  WIDER_val.zip  wider_face_split.zip  (and WIDER_test.zip unless --no-test)
  from $OFFICIAL_PAGE (or $PADDLE_MIRROR/<file>),
  copy the .zip files into
      $d/
  and run this script again (it then only unpacks and verifies), or unpack them there
  yourself so that the directory holds WIDER_train/images/, WIDER_val/images/,
  wider_face_split/ ..., then verify with:  $PROG --check $d
EOF
}

report_layout() {   # $1 dir; returns 0 if complete
    local d=$1 miss
    miss=$(missing_items "$d")
    if [ -z "$miss" ]; then
        echo "WIDER FACE layout OK in $d"
        return 0
    fi
    {
        echo "ERROR: WIDER FACE layout incomplete in $d - missing:"
        printf '%s\n' "$miss" | sed 's/^/    /'
    } >&2
    return 1
}

if [ "$CHECK_ONLY" -eq 1 ]; then
    if [ ! -d "$TARGET" ]; then
        echo "ERROR: $TARGET does not exist (nothing to check)." >&2
        manual_help "$TARGET"
        exit 1
    fi
    TARGET=$(cd "$TARGET" && pwd -P)
    if report_layout "$TARGET"; then exit 0; fi
    echo "  Run '$PROG $TARGET' to download and unpack it, or place the files by hand:" >&2
    manual_help "$TARGET"
    exit 1
fi

# --------------------------------------------------------------------------- download
mkdir -p "$TARGET"
TARGET=$(cd "$TARGET" && pwd -P)
cd "$TARGET"

if command -v curl >/dev/null 2>&1; then
    DOWNLOADER=curl
elif command -v wget >/dev/null 2>&1; then
    DOWNLOADER=wget
else
    echo "ERROR: neither curl nor wget is installed; install one of them or place the files by hand." >&2
    manual_help "$TARGET"
    exit 1
fi

# fetch URL OUT -> exit status of the downloader (OUT.part is resumed, renamed on success)
fetch() {
    local url=$1 out=$2 rc=0 quiet
    if [ "$DOWNLOADER" = curl ]; then
        if [ -t 2 ]; then quiet=--progress-bar; else quiet=--silent; fi
        curl --fail --location "$quiet" --show-error --continue-at - \
             --connect-timeout "$CONNECT_TIMEOUT" --speed-limit 1024 --speed-time 120 \
             --output "$out.part" "$url" || rc=$?
        if [ "$rc" -eq 33 ]; then   # server cannot resume: start over once
            rm -f "$out.part"; rc=0
            curl --fail --location "$quiet" --show-error --connect-timeout "$CONNECT_TIMEOUT" \
                 --speed-limit 1024 --speed-time 120 --output "$out.part" "$url" || rc=$?
        fi
    else
        if [ -t 2 ]; then quiet=--show-progress; else quiet=--no-verbose; fi
        wget --quiet "$quiet" --continue --tries=1 --connect-timeout="$CONNECT_TIMEOUT" \
             --dns-timeout="$CONNECT_TIMEOUT" --read-timeout=120 --output-document="$out.part" \
             "$url" || rc=$?
    fi
    if [ "$rc" -eq 0 ]; then
        mv -f "$out.part" "$out"
    elif [ ! -s "$out.part" ]; then
        rm -f "$out.part"
    fi
    return "$rc"
}

describe_rc() {   # downloader exit status -> short reason
    if [ "$DOWNLOADER" = curl ]; then
        case "$1" in
            5|6) echo "could not resolve host" ;;
            7) echo "could not connect" ;;
            28) echo "timed out" ;;
            22) echo "HTTP error" ;;
            35|60) echo "TLS/SSL error" ;;
            52|56) echo "connection dropped" ;;
            *) echo "failed" ;;
        esac
    else
        case "$1" in
            4) echo "network failure" ;;
            5) echo "TLS/SSL error" ;;
            8) echo "server returned an error" ;;
            *) echo "failed" ;;
        esac
    fi
}

is_network_error() {   # downloader exit status -> 0 if it means "could not reach the host"
    if [ "$DOWNLOADER" = curl ]; then
        case "$1" in 5|6|7|28|52|56) return 0 ;; esac
    else
        case "$1" in 4) return 0 ;; esac
    fi
    return 1
}

for zip in "${ARCHIVES[@]}"; do
    dir=$(unpacked_dir "$zip")
    stamp=".$dir.unpacked"
    if [ -f "$stamp" ] || { [ ! -f "$zip" ] && [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; }; then
        echo "[skip] $dir/ already unpacked"
        continue
    fi
    if [ -f "$zip" ]; then
        echo "[skip] $zip already downloaded"
    else
        failures=()
        all_network=1
        ok=0
        for url in $(urls_for "$zip"); do
            echo "[get ] $url"
            rc=0
            fetch "$url" "$zip" || rc=$?
            if [ "$rc" -eq 0 ]; then ok=1; break; fi
            failures+=("$url  ($(describe_rc "$rc"); $DOWNLOADER exit code $rc)")
            is_network_error "$rc" || all_network=0
        done
        if [ "$ok" -ne 1 ]; then
            {
                echo "ERROR: download of $zip failed:"
                printf '    %s\n' "${failures[@]}"
                if [ "$all_network" -eq 1 ]; then
                    echo "  The host(s) could not be reached within ${CONNECT_TIMEOUT}s - this machine appears to be offline"
                    echo "  (or behind a proxy/firewall; set https_proxy if you need one)."
                else
                    echo "  The server answered with an error; the mirror may have moved - see $OFFICIAL_PAGE."
                fi
                [ -f "$zip.part" ] && echo "  A partial file $TARGET/$zip.part was kept; rerunning resumes it."
            } >&2
            manual_help "$TARGET"
            exit 1
        fi
    fi
    if ! command -v unzip >/dev/null 2>&1; then
        echo "ERROR: 'unzip' is not installed; install it (e.g. apt-get install unzip) and rerun." >&2
        exit 1
    fi
    echo "[zip ] unpacking $zip"
    if ! unzip -q -o "$zip" -d "$TARGET"; then
        echo "ERROR: could not unpack $TARGET/$zip (corrupt or incomplete download?)." >&2
        echo "  Delete it and rerun this script to download it again." >&2
        exit 1
    fi
    touch "$stamp"
done

if ! report_layout "$TARGET"; then
    echo "  The archives were unpacked but the layout is not the expected one." >&2
    manual_help "$TARGET"
    exit 1
fi
