@echo off
rem Shell completion for `kubectl kserve-mn` (kubectl 1.26+ runs kubectl_complete-kserve_mn from PATH,
rem finding this .cmd through PATHEXT). Krew links only the plugin itself: copy this file next to that
rem link, into %USERPROFILE%\.krew\bin. It finds the plugin on PATH, so the copy survives upgrades.
kubectl-kserve_mn.exe __complete %*
