//! The platform ini injected before every customer vassal: the shortcut options of
//! spec/uwsgi-router.md §7.

/// The directory of plugin aliases inside every container (in the platform mount).
pub(crate) const PLUGINS_DIR: &str = "plugins";

/// Plugin names the quickstart uses that the distro's uWSGI knows by another name:
/// `plugin = 0:python` loads Debian's `python3` plugin. Each alias is a symlink
/// `<alias>_plugin.so` → `/usr/lib/uwsgi/plugins/<plugin>_plugin.so` in the platform's
/// plugins directory, which the platform ini puts first on uWSGI's plugin search path.
pub(crate) const PLUGIN_ALIASES: &[(&str, &str)] = &[("python", "python3")];

/// Where the platform ini is mounted (read-only) inside every container.
pub(crate) const SHORTCUTS_PATH: &str = "/berth/shortcuts.ini";

/// Where the quickstart says the shortcut options are defined: a symlink to
/// [`SHORTCUTS_PATH`] in every container.
pub(crate) const UNBIT_SHORTCUTS_PATH: &str = "/opt/unbit/uwsgi/shortcuts.ini";

/// The platform ini the Emperor injects before every vassal file
/// (`--vassal-set inject-before=/berth/shortcuts.ini`).
///
/// Each option creates the vassal's socket `$(HOME)/run/<domain>_%J.socket` (`%J`: a hash of
/// the vassal file's path, so that every vassal gets its own) and subscribes it to the
/// router's socket under `/run/subscribe`, signed with the customer's key in `etc/uwsgi.key`.
/// `$1`…`$4` are the words of the option's value. The fastrouter lines of the `ssl-*cluster*`
/// options send `sni_crt=$3` (upstream uwsgi.it sends the key there by mistake).
pub const SHORTCUTS_INI: &str = r"[uwsgi]
plugins-dir = /berth/plugins
chmod-socket = 666
declare-option2 = domain=socket=$(HOME)/run/$1_%J.socket;subscribe2=server=/run/subscribe/http,key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key
declare-option2 = ssl-domain=socket=$(HOME)/run/$1_%J.socket;subscribe2=server=/run/subscribe/http,key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key,sni_key=$2,sni_crt=$3
declare-option2 = ssl-ca-domain=socket=$(HOME)/run/$1_%J.socket;subscribe2=server=/run/subscribe/http,key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key,sni_key=$2,sni_crt=$3,sni_ca=$4
declare-option2 = cluster-domain=socket=$(HOME)/run/$1_%J.socket;subscribe2=server=/run/subscribe/fastrouter,key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key;subscribe2=server=/run/subscribe/http,key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key
declare-option2 = ssl-cluster-domain=socket=$(HOME)/run/$1_%J.socket;subscribe2=server=/run/subscribe/fastrouter,key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key,sni_key=$2,sni_crt=$3;subscribe2=server=/run/subscribe/http,key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key,sni_key=$2,sni_crt=$3
declare-option2 = ssl-ca-cluster-domain=socket=$(HOME)/run/$1_%J.socket;subscribe2=server=/run/subscribe/fastrouter,key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key,sni_key=$2,sni_crt=$3,sni_ca=$4;subscribe2=server=/run/subscribe/http,key=$1,addr=$(HOME)/run/$1_%J.socket,sign=SHA1:$(HOME)/etc/uwsgi.key,sni_key=$2,sni_crt=$3,sni_ca=$4
";
