"""Makes a throwaway PKI with the openssl command line, for the TLS tests.
usage: test_pki.py DIR PASSWORD
Writes into DIR: ca.pem/ca.key (a CA), server1.pem/.key (CN=gateway-1, serial 0x1001) and
server2.pem/.key (CN=gateway-2, serial 0x1002), both for IP 127.0.0.1 and DNS localhost;
client.pem/.key (CN=alice, serial 0x2001, clientAuth); rogue.pem/.key (CN=mallory, self-signed);
other.key (matches no certificate);
server1-enc.key (server1's key encrypted with PASSWORD) and password.txt. Prints 'pki ready'."""
import os
import subprocess
import sys

out, password = sys.argv[1], sys.argv[2]


def run(*args):
    subprocess.run(["openssl", *args], check=True, cwd=out, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                   timeout=60)


def ec_key(name):
    run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name)


def leaf(name, cn, serial, ext):
    ec_key(name + ".key")
    run("req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn, "-out", name + ".csr")
    with open(os.path.join(out, name + ".ext"), "w") as f:
        f.write(ext)
    run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", serial,
        "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem")


os.makedirs(out, exist_ok=True)
ec_key("ca.key")
run("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=pie-gateway test CA", "-days", "2", "-out", "ca.pem",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
server_ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
leaf("server1", "gateway-1", "0x1001", server_ext)
leaf("server2", "gateway-2", "0x1002", server_ext)
leaf("client", "alice", "0x2001", "extendedKeyUsage=clientAuth\n")
ec_key("other.key")
ec_key("rogue.key")  # a client certificate no configured CA signed
run("req", "-x509", "-new", "-key", "rogue.key", "-subj", "/CN=mallory", "-days", "2", "-out", "rogue.pem")
with open(os.path.join(out, "password.txt"), "w") as f:
    f.write(password + "\n")
run("pkey", "-in", "server1.key", "-aes256", "-passout", "file:password.txt", "-out", "server1-enc.key")
print("pki ready", flush=True)
